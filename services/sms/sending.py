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

The account's rate (issue 19 item 5): before its claim, a message takes its parts from the
account-wide limiter (shared/send_rate.py, windows `RATE#sms-voice#<second>` in the sms table):
End User Messaging SMS throttles message PARTS per second (MPS) per account and origination
identity. The rate is MAX_SMS_RATE (template.yaml): pinpoint-sms-voice-v2 exposes no throughput
through its API (DescribeAccountLimits lists resource counts, DescribeSpendLimits money,
DescribePhoneNumbers no MPS), so it is configuration; DEFAULT_MAX_SMS_RATE when unset. A wait that
would pass the handler's deadline raises RateLimitTimeout before anything is claimed: the message
stays as it was and the queue delivers it again.

The tenant's sending window (domain/window.py): a MARKETING message found outside it is held
instead of claimed: status "waiting", `due_at` = the window's next opening, listed in `by_due` at
that time (a version-checked write: a concurrent delivery that held or claimed it first wins).
The jobs' sweep (sweep.py) queues it again when it falls due; the sender then finds it "waiting"
inside the window and claims it like a queued one (the claim takes it out of `by_due`).
Transactional messages ignore the window: an OTP or a reminder must not wait until morning.

A message settled "sent" is listed in `by_due` at `sent_at` + RECEIPT_DEADLINE (72 h): the sweep
makes it "unknown" if no final receipt took it out of the index by then (receipts.py).

Not yet (issue 19): batched claims and settlements.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from services.sms import credits
from services.sms.domain.messages import KIND, SmsMessageStatus
from services.sms.domain.window import is_open, next_opening
from services.sms.service import Caller, service_caller
from services.sms.settings import SmsSettings
from services.sms.setup import setup
from services.sms.store import ProviderMessageItem, Record
from shared import clock
from shared.contracts.messaging import SmsSent
from shared.ids import derived_id
from shared.observability import logger
from shared.send_rate import CachedRate, SendRate
from shared.settings import load
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork, clean

SUBJECT_WORDS = 60  # characters of the text `sms.sent` carries as its subject
DEFAULT_MAX_SMS_RATE = 10  # message parts a second when MAX_SMS_RATE is unset (a conservative MPS)
RECEIPT_DEADLINE = timedelta(hours=72)  # a sent message without a final receipt by then becomes "unknown"
LIMITER = SendRate("sms-voice", CachedRate("MAX_SMS_RATE", DEFAULT_MAX_SMS_RATE))  # the account's MPS (see the module)


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


def send_queued(body: str, deadline: float | None = None) -> None:
    """Send the message one send-queue message names (see the module); the rate's wait ends by
    `deadline` (epoch seconds) or raises RateLimitTimeout."""
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
    elif status not in (SmsMessageStatus.queued, SmsMessageStatus.waiting):
        logger.info("message not queued", extra={"message_id": message_id, "status": status})
        return
    # (held: marketing only, and never a message still "sending": its receipt may yet come)
    held = status != SmsMessageStatus.sending and not record.data.get("transactional")
    if held and _hold_outside_window(caller, record):
        return
    LIMITER.acquire(max(1, int(record.data.get("parts") or 1)), deadline=deadline)  # its parts, within the MPS
    claim = clock.iso(clock.now())
    uow = UnitOfWork()
    attempts = int(record.data.get("attempts") or 0) + 1
    claimed_data = {**record.data, "status": SmsMessageStatus.sending.value, "claimed_at": claim, "attempts": attempts}
    record.set_due(caller.tenant, None)  # a held message leaves the sweep's index with its claim
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


def _hold_outside_window(caller: Caller, record: Record) -> bool:
    """Hold a message outside the tenant's window until its next opening (see the module); False
    when the window is open (or there is none). True too when a concurrent delivery wrote first."""
    window = setup(caller).window
    now = clock.now()
    if window is None or is_open(window, now):
        return False
    due = clock.iso(next_opening(window, now))
    if record.data.get("status") == SmsMessageStatus.waiting and record.data.get("due_at") == due:
        return True  # held already (a second queue message): the sweep sends it
    record.set_due(caller.tenant, due)
    uow = UnitOfWork()
    caller.store.replace(uow, record, {**record.data, "status": SmsMessageStatus.waiting.value, "due_at": due})
    try:
        uow.commit()
    except ConcurrentUpdate:  # another delivery held or claimed it first
        return True
    logger.info("message held for the sending window", extra={"message_id": record.record_id, "due_at": due})
    return True


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
    deadline = None if then else clock.iso(sent_at + RECEIPT_DEADLINE)  # a final receipt ends the wait
    stage_fields(uow, record, fields, condition, record.due_actions(caller.tenant, deadline))
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


def stage_fields(
    uow: UnitOfWork, record: Record, fields: dict[str, Any], condition: Any, extra: list[Any] | None = None
) -> None:
    """The message's `fields` set in `uow` (with `extra` actions) on `condition` alone (its status),
    not on its version: a condition that fails makes the commit raise Settled."""
    actions = [Record.fields[name].set(value) for name, value in clean(fields).items()] + (extra or [])
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
