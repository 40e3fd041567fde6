"""Delivery receipts [issue 19 items 5 and 6]: the provider's events update each message once.

A rule on the default bus puts End User Messaging SMS's "Text Message Delivery Status Updated"
events on the receipts queue; each names its message by the context the sender gave it
(domain/receipts.py). A receipt without our context, or about a message this stage does not have,
is logged and dropped. Per receipt, one transaction:

- a message still "sending" is settled as sent first, exactly as the sender settles it
  (sending.stage_sent: charge + `sms.sent`): any receipt proves the provider accepted it, so a
  sender that died between the provider's answer and its record loses nothing (item 6);
- TEXT_DELIVERED: "delivered", `delivered_at`, `sms.delivered`; a failure type: "failed" with the
  provider's reason, `sms.failed` (the parts stay charged: the provider sent the message);
  TEXT_SUCCESSFUL / TEXT_PENDING / TEXT_QUEUED record nothing more.

A status never goes backwards: each update is conditioned on the status it moves from ("sending";
"sent" or "unknown" for a final receipt), not on a version or a read, so a redelivered receipt, a
late TEXT_SUCCESSFUL after TEXT_DELIVERED, or a second final receipt changes nothing; the events'
ids are derived from the message id (published once). A condition that fails because the message
moved between the read and the write (the sender settled it) reads it again and decides again.
A final receipt takes the message out of the sweep's `by_due` (sent + 72 h: "unknown", sweep.py);
one that comes after the sweep made it "unknown" still wins (unknown -> delivered / failed).
"""

from __future__ import annotations

import json

from services.sms import events, sending
from services.sms.domain.messages import KIND, SmsMessageStatus
from services.sms.domain.receipts import SOURCE, Outcome, Receipt, read_receipt
from services.sms.service import Caller, service_caller
from services.sms.store import Record
from shared import clock
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork

ATTEMPTS = 5
FINAL_FROM = (SmsMessageStatus.sent.value, SmsMessageStatus.unknown.value)  # what a final receipt moves on


def handle(body: str) -> None:
    """One receipts-queue message: an EventBridge event of End User Messaging SMS."""
    event = json.loads(body)
    if event.get("source") != SOURCE:
        logger.info("not an SMS event, skipped", extra={"detail_type": event.get("detail-type")})
        return
    detail = event.get("detail") or {}
    receipt = read_receipt(detail)
    if receipt is None:
        logger.warning(
            "SMS event for a message that is not ours, skipped",
            extra={"provider_message_id": detail.get("messageId"), "event_type": detail.get("eventType")},
        )
        return
    apply(receipt)


def apply(receipt: Receipt) -> None:
    caller = service_caller(receipt.tenant_id, open_tenant=False)
    for _ in range(ATTEMPTS):
        record = caller.store.get(caller.tenant, KIND, receipt.message_id)
        if record is None:
            logger.warning("SMS receipt for an unknown message, skipped", extra={"message_id": receipt.message_id})
            return
        uow = _staged(caller, record, receipt)
        if uow is None:
            return
        try:
            uow.commit()
            return
        except (sending.Settled, AlreadyApplied, ConcurrentUpdate):  # the message moved since the read
            continue
    raise ConcurrentUpdate()


def _staged(caller: Caller, record: Record, receipt: Receipt) -> UnitOfWork | None:
    """The receipt's writes; None when it records nothing (see the module)."""
    status = record.data.get("status")
    outcome = receipt.outcome
    final = _final_fields(receipt) if outcome != Outcome.accepted else None
    uow = UnitOfWork()
    if status == SmsMessageStatus.sending:
        sending.stage_sent(caller, uow, record, receipt.provider_message_id, receipt.requested_at, then=final)
        logger.info("message settled by its receipt", extra={"message_id": record.record_id})
    elif status in FINAL_FROM and final is not None:
        undue = record.due_actions(caller.tenant, None)  # out of the sweep's index: nothing left to wait for
        sending.stage_fields(uow, record, final, Record.fields["status"].is_in(*FINAL_FROM), undue)
    else:
        logger.info(
            "SMS receipt records nothing",
            extra={"message_id": record.record_id, "status": status, "event_type": receipt.event_type},
        )
        return None
    if final is not None:
        uow.publish(_final_event(caller, record, receipt))
    return uow


def _final_fields(receipt: Receipt) -> dict[str, str]:
    if receipt.outcome == Outcome.delivered:
        return {"status": SmsMessageStatus.delivered.value, "delivered_at": clock.iso(receipt.at)}
    return {"status": SmsMessageStatus.failed.value, "reason": receipt.reason}


def _final_event(caller: Caller, record: Record, receipt: Receipt) -> Envelope:
    data = record.data
    message_id, contact_id, to = record.record_id, data.get("contact_id"), str(data["to"])
    if receipt.outcome == Outcome.delivered:
        payload = events.SmsDelivered(message_id=message_id, contact_id=contact_id, to=to, at=receipt.at)
        return caller.event("sms.delivered", payload, event_id=derived_id("sms.delivered", message_id))
    failed = events.SmsFailed(
        message_id=message_id,
        contact_id=contact_id,
        to=to,
        at=receipt.at,
        receipt=receipt.event_type,
        reason=receipt.reason,
        request_id=data.get("request_id"),
    )
    return caller.event("sms.failed", failed, event_id=derived_id("sms.failed", message_id))
