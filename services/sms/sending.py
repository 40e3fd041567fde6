"""The sender: the messages on the send queue go to AWS End User Messaging SMS, one call each.

A send-queue message is `{"tenant_id", "message_id"}` (messages.py queues it). Per message:
1. the record is CLAIMED: status queued -> "sending" with `claimed_at` and `attempts` + 1, a
   version-checked write (a concurrent delivery that claimed it first wins; this one drops);
2. SendTextMessage, through the stage's configuration set, from the tenant's sender id, with
   `Context` {tenant_id, message_id} (the provider's delivery events echo it);
3. the outcome is SETTLED in one transaction: accepted -> "sent", `provider_message_id`,
   `sent_at`, the parts charged (credits.charge) and `sms.sent` (event id derived from the message
   id, so published once); refused by the provider -> "failed" with its reason and the parts
   refunded (credits.refund). The message's update is conditioned on its status and our claim,
   not on its version: a receipt that settled it meanwhile (below) wins, and this one drops.
   An accepted send also writes store.ProviderMessageItem (provider id -> tenant, message):
   inbound.py finds an answer's tenant by it.

Crash safety (issue 19 item 6), as the email sender's. A crash before the claim leaves the message
"queued": the redelivery sends it. A crash after the claim leaves it "sending". Its PROOF that the
provider accepted it is the provider's delivery receipt, whose context names the message: a
receipt for a message still "sending" settles it as sent exactly as step 3 does (`stage_sent`,
services/sms/receipts.py), so the sender need not live to record it. A redelivery that finds the
message "sending" fails (ProofPending: the queue delivers it again) while the claim is younger than
the proof window (PROOF_WINDOW_SECONDS, default 5 minutes), then claims it again and sends again.
That is the at-least-once edge: a message the provider accepted but whose every receipt comes later
than the window goes twice.

Not yet (issue 19): the shared send-rate limiter; batched claims and settlements.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from services.sms import credits, send_stats
from services.sms.domain.messages import KIND, SmsMessageStatus
from services.sms.service import Caller, service_caller
from services.sms.settings import SmsSettings
from services.sms.setup import setup
from services.sms.store import ProviderMessageItem, Record
from shared import clock
from shared.contracts.messaging import SmsSent
from shared.ids import derived_id
from shared.observability import logger
from shared.settings import load
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork, clean

SUBJECT_WORDS = 60  # characters of the text `sms.sent` carries as its subject


class MessageMissing(Exception):
    """The queue named a message whose record is not readable yet: retry later."""


class ProofPending(Exception):
    """The message was claimed by a delivery that did not record it; no receipt yet, the window is open."""


class Settled(Exception):
    """The message is no longer as the writer read it (another writer recorded it): nothing written."""


@cache
def _sms() -> Any:
    return boto3.client("pinpoint-sms-voice-v2")


def proof_window() -> timedelta:
    return timedelta(seconds=load(SmsSettings).proof_window_seconds)


def send_queued(body: str) -> None:
    """Send the message one send-queue message names (see the module)."""
    named = json.loads(body)
    caller = service_caller(str(named["tenant_id"]), open_tenant=False)
    message_id = str(named["message_id"])
    record = caller.store.get(caller.tenant, KIND, message_id)
    if record is None:
        raise MessageMissing(f"no message {message_id} yet")
    status = record.data.get("status")
    if status == SmsMessageStatus.sending:
        claimed = datetime.fromisoformat(str(record.data["claimed_at"]))
        if clock.now() - claimed < proof_window():
            raise ProofPending(f"message {message_id} is claimed and has no receipt yet")
        logger.warning("claimed message without a receipt: sent again", extra={"message_id": message_id})
    elif status != SmsMessageStatus.queued:
        logger.info("message not queued", extra={"message_id": message_id, "status": status})
        return
    claim = clock.iso(clock.now())
    uow = UnitOfWork()
    attempts = int(record.data.get("attempts") or 0) + 1
    claimed_data = {**record.data, "status": SmsMessageStatus.sending.value, "claimed_at": claim, "attempts": attempts}
    caller.store.replace(uow, record, claimed_data)
    try:
        uow.commit()
    except ConcurrentUpdate:  # another delivery claimed it (or a receipt settled it)
        return
    data = record.data
    requested = clock.now()  # `sent_at`: when the provider was asked, as its receipts' messageRequestTimestamp
    try:
        answer = _sms().send_text_message(
            DestinationPhoneNumber=data["to"],
            MessageBody=data["text"],
            MessageType="TRANSACTIONAL" if data.get("transactional") else "PROMOTIONAL",
            OriginationIdentity=setup(caller).sender_id,
            ConfigurationSetName=load(SmsSettings).configuration_set,
            Context={"tenant_id": caller.tenant, "message_id": message_id},
        )
    except ClientError as error:
        details = error.response.get("Error", {})
        _settle_failed(caller, record, claim, f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip())
        return
    uow = UnitOfWork()
    stage_sent(caller, uow, record, str(answer["MessageId"]), requested, claim=claim)
    _commit_settlement(uow, message_id)


def stage_sent(
    caller: Caller,
    uow: UnitOfWork,
    record: Record,
    provider_message_id: str,
    sent_at: datetime,
    claim: str | None = None,
    then: dict[str, Any] | None = None,
) -> None:
    """Stage in `uow` a message "sending" settled as sent: its fields (and `then`'s, a receipt's
    final status), the charge of its parts and `sms.sent`; the update only while the message is
    still "sending" (and, given `claim`, still ours), else the commit raises Settled."""
    data = record.data
    fields = {
        "status": SmsMessageStatus.sent.value,
        "provider_message_id": provider_message_id,
        "sent_at": clock.iso(sent_at),
        **(then or {}),
    }
    condition = Record.fields["status"] == SmsMessageStatus.sending.value
    if claim is not None:
        condition &= Record.fields["claimed_at"] == claim
    stage_fields(uow, record, fields, condition)
    uow.save(ProviderMessageItem.of(provider_message_id, caller.tenant, record.record_id))  # inbound.py's lookup
    credits.charge(caller, uow, int(data["credits"]), None, record.record_id)
    event = SmsSent(
        message_id=record.record_id,
        contact_id=data.get("contact_id"),
        to=data["to"],
        subject=data["text"][:SUBJECT_WORDS],
        sent_by=data.get("created_by"),
        sent_at=sent_at,
    )
    uow.publish(caller.event("sms.sent", event, event_id=derived_id("sms.sent", record.record_id)))


def stage_fields(uow: UnitOfWork, record: Record, fields: dict[str, Any], condition: Any) -> None:
    """The message's `fields` set in `uow` on `condition` alone (its status), not on its version:
    a condition that fails makes the commit raise Settled."""
    send_stats.count(uow, record, str(fields["status"]))  # a send's counters move with the status
    actions = [Record.fields[name].set(value) for name, value in clean(fields).items()]
    uow.update(record, actions, condition=condition, on_conflict=Settled, check_version=False)
    record.data = {**record.data, **fields}


def _settle_failed(caller: Caller, record: Record, claim: str, reason: str) -> None:
    data = record.data
    uow = UnitOfWork()
    fields = {"status": SmsMessageStatus.failed.value, "reason": reason[:500]}
    condition = (Record.fields["status"] == SmsMessageStatus.sending.value) & (Record.fields["claimed_at"] == claim)
    stage_fields(uow, record, fields, condition)
    credits.refund(caller, uow, int(data["credits"]), None, record.record_id)
    _commit_settlement(uow, record.record_id)
    logger.info("message refused by the provider", extra={"message_id": record.record_id, "reason": reason})


def _commit_settlement(uow: UnitOfWork, message_id: str) -> None:
    try:
        uow.commit()
    except (Settled, AlreadyApplied):  # its receipt (or a later claim) recorded it first
        logger.info("message recorded by another writer", extra={"message_id": message_id})
