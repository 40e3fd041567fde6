"""Delivery receipts [issue 19 items 5 and 6]: the provider's events update each message once.

A rule on the default bus puts End User Messaging SMS's "Text Message Delivery Status Updated"
events on the receipts queue; each names its message by the context the sender gave it
(domain/receipts.py). A receipt without our context, or about a message this stage does not have,
is logged and dropped. What a receipt records:

- a message still "sending" is settled as sent first, exactly as the sender settles it
  (sending.stage_sent: charge + `sms.sent`): any receipt proves the provider accepted it, so a
  sender that died between the provider's answer and its record loses nothing (item 6);
- TEXT_DELIVERED: "delivered", `delivered_at`, `sms.delivered`; a failure type: "failed" with the
  provider's reason, `sms.failed` (the parts stay charged: the provider sent the message);
  TEXT_SUCCESSFUL / TEXT_PENDING / TEXT_QUEUED record nothing more.

Per SQS batch (`apply_batch`, as the sender's send_batch with the kernel's shared/batched.py): the
batch's messages are read in ONE consistent BatchGetItem (`read_by_key`; a message two receipts
of the batch name is read once), each message's receipts are applied in their order to what was
read (`_staged`: a message "sending" with TEXT_SUCCESSFUL then TEXT_DELIVERED is settled as sent and
delivered in one unit; a second final receipt changes nothing), and the units commit together in
as few transactions as `commit_together` allows (at most 100 items a transaction; a tenant's
charges and a send's counters are additions summed per item). A receipt that records nothing
(in progress on a message sent already, a redelivery) costs only its share of the read. For a
batch of 10 messages' TEXT_SUCCESSFUL and TEXT_DELIVERED (20 receipts): 1 BatchGetItem + 1
TransactWriteItems (it was 20 GetItem + 10 TransactWriteItems: tests/integration/test_sms_receipts.py).

A status never goes backwards: each update is conditioned on the status it moves from ("sending";
"sent" or "unknown" for a final receipt), not on a version or a read, so a redelivered receipt, a
late TEXT_SUCCESSFUL after TEXT_DELIVERED, or a second final receipt changes nothing; the events'
ids are derived from the message id (published once). A message whose condition fails because it
moved between the read and the write (the sender settled it) is left out of the transaction, the
others commit; it is read again and decided again (up to ATTEMPTS rounds, each one BatchGetItem
for the messages left). A failure is the message's own: its receipts' queue messages alone fail
(shared.batch.whole_batch), a malformed queue message alone.
A final receipt takes the message out of the sweep's `by_due` (sent + 72 h: "unknown", sweep.py);
one that comes after the sweep made it "unknown" still wins (unknown -> delivered / failed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from services.sms import events, sending
from services.sms.domain.messages import KIND, SmsMessageStatus
from services.sms.domain.receipts import SOURCE, Outcome, Receipt, read_receipt
from services.sms.service import Caller, service_caller
from services.sms.store import Record
from shared import clock
from shared.batched import commit_together, read_by_key
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork, record_key

ATTEMPTS = 5
FINAL_FROM = (SmsMessageStatus.sent.value, SmsMessageStatus.unknown.value)  # what a final receipt moves on
MOVED = (sending.Settled, AlreadyApplied, ConcurrentUpdate)  # the message moved since the read


@dataclass
class _Message:
    """One message of the batch: its receipts in the batch's order, the queue messages that carried
    them (their indexes), its record as last read, and its error (None: done)."""

    tenant: str
    message_id: str
    receipts: list[Receipt] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    record: Record | None = None
    error: Exception | None = None


def apply_batch(bodies: list[Any]) -> list[Exception | None]:
    """The receipts of an SQS batch's bodies (see the module); per body its error (None: done)."""
    errors: list[Exception | None] = [None] * len(bodies)
    messages: dict[tuple[str, str], _Message] = {}
    for index, body in enumerate(bodies):
        try:
            receipt = _receipt(body)
        except Exception as exc:  # a malformed body fails alone (as before: the queue retries it, then its DLQ)
            logger.exception("malformed receipts-queue message", extra={"index": index})
            errors[index] = exc
            continue
        if receipt is not None:
            message = messages.setdefault(
                (receipt.tenant_id, receipt.message_id), _Message(receipt.tenant_id, receipt.message_id)
            )
            message.receipts.append(receipt)
            message.indexes.append(index)
    _apply_messages(list(messages.values()))
    for message in messages.values():
        for index in message.indexes:
            errors[index] = message.error
    return errors


def handle(body: Any) -> None:
    """One receipts-queue message by itself (an EventBridge event of End User Messaging SMS)."""
    [error] = apply_batch([body])
    if error is not None:
        raise error


def apply(receipt: Receipt) -> None:
    """One receipt by itself (as a batch of one)."""
    message = _Message(receipt.tenant_id, receipt.message_id, [receipt], [0])
    _apply_messages([message])
    if message.error is not None:
        raise message.error


def _receipt(body: Any) -> Receipt | None:
    """The receipt a queue message carries; None (logged) when it is not one of ours."""
    event = json.loads(body) if isinstance(body, (str, bytes)) else body
    if not isinstance(event, dict):
        raise ValueError("a receipts-queue message is an EventBridge event (a JSON object)")
    if event.get("source") != SOURCE:
        logger.info("not an SMS event, skipped", extra={"detail_type": event.get("detail-type")})
        return None
    detail = event.get("detail") or {}
    receipt = read_receipt(detail)
    if receipt is None:
        logger.warning(
            "SMS event for a message that is not ours, skipped",
            extra={"provider_message_id": detail.get("messageId"), "event_type": detail.get("eventType")},
        )
    return receipt


def _apply_messages(messages: list[_Message]) -> None:
    """Read the messages in one BatchGetItem, stage each one's receipts, commit together; a message
    that moved since its read is read again and decided again (see the module)."""
    callers: dict[str, Caller] = {}
    pending = messages
    for _ in range(ATTEMPTS):
        if not pending:
            return
        try:
            _read(pending)
        except Exception as exc:  # the read failed: every receipt of these messages comes again
            logger.exception("SMS receipts not read", extra={"messages": len(pending)})
            for message in pending:
                message.error = exc
            return
        staged: list[tuple[_Message, UnitOfWork]] = []
        for message in pending:
            caller = callers.get(message.tenant) or callers.setdefault(
                message.tenant, service_caller(message.tenant, open_tenant=False)
            )
            uow = _staged(caller, message)
            if uow is not None:
                staged.append((message, uow))
        moved = []
        for (message, _), error in zip(staged, commit_together([uow for _, uow in staged]), strict=True):
            if isinstance(error, MOVED):
                moved.append(message)
            elif error is not None:
                logger.error("SMS receipt not recorded", extra={"message_id": message.message_id, "error": repr(error)})
                message.error = error
        pending = moved
    for message in pending:
        message.error = ConcurrentUpdate()


def _read(messages: list[_Message]) -> None:
    """The messages' records in one consistent BatchGetItem (each message once)."""
    keys = {id(m): (record_key(m.tenant, KIND, m.message_id), KIND.upper()) for m in messages}
    found = read_by_key(Record, list(keys.values()))
    for message in messages:
        message.record = found.get(keys[id(message)])


def _staged(caller: Caller, message: _Message) -> UnitOfWork | None:
    """The writes of the message's receipts applied in order to its record as read, in one unit (one
    update of the message); None when they record nothing (see the module)."""
    record = message.record
    if record is None:
        logger.warning("SMS receipt for an unknown message, skipped", extra={"message_id": message.message_id})
        return None
    status = record.data.get("status")
    finals = [r for r in message.receipts if r.outcome != Outcome.accepted]
    final = finals[0] if finals else None  # the first final receipt decides: after it the status never moves
    uow = UnitOfWork()
    if status == SmsMessageStatus.sending:
        first = message.receipts[0]  # the proof: the provider accepted it when asked
        then = _final_fields(final) if final else None
        sending.stage_sent(caller, uow, record, first.provider_message_id, first.requested_at, then=then)
        logger.info("message settled by its receipt", extra={"message_id": record.record_id})
    elif status in FINAL_FROM and final is not None:
        undue = record.due_actions(caller.tenant, None)  # out of the sweep's index: nothing left to wait for
        sending.stage_fields(uow, record, _final_fields(final), Record.fields["status"].is_in(*FINAL_FROM), undue)
    else:
        logger.info(
            "SMS receipt records nothing",
            extra={
                "message_id": record.record_id,
                "status": status,
                "event_types": [r.event_type for r in message.receipts],
            },
        )
        return None
    if final is not None:
        uow.publish(_final_event(caller, record, final))
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
