"""The sender: the messages on the send queue go to AWS End User Messaging SMS, one call each.

A send-queue message is `{"tenant_id", "message_id"}` (messages.py queues it). Per message:
1. the record is CLAIMED: status queued -> "sending" with `claimed_at`, a version-checked write
   (a concurrent delivery that claimed it first wins; this one drops);
2. SendTextMessage, through the stage's configuration set, from the tenant's sender id, with
   `Context` {tenant_id, message_id} (the provider's delivery events echo it);
3. the outcome is SETTLED in one transaction: accepted -> "sent", `provider_message_id`,
   `sent_at`, the parts charged (credits.charge) and `sms.sent` (event id derived from the message
   id, so published once); refused by the provider -> "failed" with its reason and the parts
   refunded (credits.refund). An accepted send also writes store.ProviderMessageItem (provider id ->
   tenant, message): inbound.py finds an answer's tenant by it.

Not yet (the next step of issue 19): a message found "sending" on a redelivery (a crash between
the claim and the settlement) is left for the provider's delivery event to settle, not sent
again; the shared send-rate limiter; batched claims and settlements.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from services.sms import credits
from services.sms.domain.messages import SmsMessageStatus
from services.sms.messages import KIND
from services.sms.service import Caller, service_caller
from services.sms.settings import SmsSettings
from services.sms.setup import setup
from services.sms.store import ProviderMessageItem, Record
from shared import clock
from shared.contracts.messaging import SmsSent
from shared.ids import derived_id
from shared.observability import logger
from shared.settings import load
from shared.store import ConcurrentUpdate, UnitOfWork

SUBJECT_WORDS = 60  # characters of the text `sms.sent` carries as its subject


class MessageMissing(Exception):
    """The queue named a message whose record is not readable yet: retry later."""


@cache
def _sms() -> Any:
    return boto3.client("pinpoint-sms-voice-v2")


def send_queued(body: str) -> None:
    """Send the message one send-queue message names (see the module)."""
    named = json.loads(body)
    caller = service_caller(str(named["tenant_id"]), open_tenant=False)
    message_id = str(named["message_id"])
    record = caller.store.get(caller.tenant, KIND, message_id)
    if record is None:
        raise MessageMissing(f"no message {message_id} yet")
    if record.data.get("status") != SmsMessageStatus.queued:
        logger.info("message not queued", extra={"message_id": message_id, "status": record.data.get("status")})
        return
    claim = UnitOfWork()
    caller.store.replace(claim, record, {**record.data, "status": "sending", "claimed_at": clock.iso(clock.now())})
    try:
        claim.commit()
    except ConcurrentUpdate:  # another delivery claimed it
        return
    record = caller.store.get(caller.tenant, KIND, message_id)
    assert record is not None
    data = record.data
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
        _settle_failed(caller, record, f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip())
        return
    _settle_sent(caller, record, str(answer["MessageId"]))


def _settle_sent(caller: Caller, record: Record, provider_message_id: str) -> None:
    data = record.data
    now = clock.now()
    uow = UnitOfWork()
    sent = {**data, "status": "sent", "provider_message_id": provider_message_id, "sent_at": clock.iso(now)}
    caller.store.replace(uow, record, sent)
    uow.save(ProviderMessageItem.of(provider_message_id, caller.tenant, record.record_id))  # inbound.py's lookup
    credits.charge(caller, uow, int(data["credits"]), None, record.record_id)
    event = SmsSent(
        message_id=record.record_id,
        contact_id=data.get("contact_id"),
        to=data["to"],
        subject=data["text"][:SUBJECT_WORDS],
        sent_by=data.get("created_by"),
        sent_at=now,
    )
    uow.publish(caller.event("sms.sent", event, event_id=derived_id("sms.sent", record.record_id)))
    uow.commit()


def _settle_failed(caller: Caller, record: Record, reason: str) -> None:
    data = record.data
    uow = UnitOfWork()
    caller.store.replace(uow, record, {**data, "status": "failed", "reason": reason[:500]})
    credits.refund(caller, uow, int(data["credits"]), None, record.record_id)
    uow.commit()
    logger.info("message refused by the provider", extra={"message_id": record.record_id, "reason": reason})
