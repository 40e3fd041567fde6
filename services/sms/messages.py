"""`POST /sms/messages`: one SMS to one contact (domain/messages.py), and the messages' reads.

The text's tags are filled for the contact from its projection row (`domain/texts.py`, the one
template engine) and the parts and credits are counted on the filled text; a fill over the
sandbox's limits writes the message `failed` with the reason, nothing reserved or queued.

The message record (kind `message`, a time-ordered id) and its credits' reservation commit in one
transaction, so concurrent sends never take the balance below zero and a refused one writes
nothing; then the message goes on the send queue (`{tenant_id, message_id}`). Indexes: `by_type`
`T#<t>#MESSAGE` / `<created_at>#<id>` (the tenant's messages by time), `by_contact`
`T#<t>#CONTACT#<id>#MESSAGE` / `<created_at>#<id>` (the contact's SMS history).

The checks (`check`) and the record with its reservation (`stage`) are shared with
`sms.send_requested` (requests.py), which records a refusal instead of answering it. A message a
user asks for publishes `sms.created` in its transaction (the user's request in the audit trail;
the sender's `sms.sent` or `sms.failed` follows).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from functools import cache
from typing import Any

from services.sms import credits
from services.sms.domain import texts
from services.sms.domain.messages import KIND, OPT_OUT, SmsMessage, SmsMessageRequest, SmsMessageStatus
from services.sms.domain.numbers import read_number
from services.sms.domain.segments import segment
from services.sms.events import SmsCreated
from services.sms.recipients import PROJECTION
from services.sms.service import Caller
from services.sms.settings import SmsSettings
from services.sms.setup import require_active
from services.sms.store import Record
from shared import clock, merges
from shared.errors import NotFound, ValidationFailed
from shared.ids import new_id
from shared.observability import logger
from shared.pagination import Page
from shared.service import model_of, partition_page
from shared.settings import load
from shared.store import UnitOfWork, tenant_key
from shared.tags import row_context

# A queued message is listed in the sweep's index until the sender claims it: one still unclaimed
# this long after it was written (its queue message was never sent, or was lost) is queued again.
QUEUE_CHECK = timedelta(minutes=2)
NUMBER_PROBLEMS = {
    "invalid_number": "is not a valid phone number",
    "not_mobile": "is not a mobile number",
}


def opted_out(caller: Caller, e164: str) -> bool:
    """Whether the number sent an opt-out keyword (inbound.py's `opt_out` record, id = E.164)."""
    return caller.store.get(caller.tenant, OPT_OUT, e164) is not None


def contact_key(tenant: str, contact_id: str) -> str:
    return tenant_key(tenant, "CONTACT", contact_id, KIND.upper())


def send_one(caller: Caller, body: SmsMessageRequest) -> SmsMessage:
    data = message_data(caller, body)
    check(caller, body, data)  # refused: the 4xx, nothing written
    uow = UnitOfWork()
    record = stage(caller, uow, new_id(), data)
    uow.publish(caller.event("sms.created", _created(record)))
    uow.commit()
    if data["status"] == SmsMessageStatus.queued:
        enqueue_or_leave_to_sweep(caller.tenant, record.record_id)
    return model_of(record, SmsMessage)


def _created(record: Record) -> SmsCreated:
    data = record.data
    queued = data["status"] == SmsMessageStatus.queued
    return SmsCreated(
        message_id=record.record_id,
        contact_id=data["contact_id"],
        status=data["status"],
        parts=int(data["parts"]),
        credits=int(data["credits"]) if queued else 0,
        transactional=bool(data.get("transactional")),
        reason=data.get("reason"),
    )


def message_data(caller: Caller, body: SmsMessageRequest) -> dict[str, Any]:
    """A message's fields before its checks (`check` fills in the number and the filled text)."""
    return {
        "contact_id": merges.resolve(caller.store, caller.tenant, "contact", body.contact_id),  # merged: the survivor
        "number_field": body.number_field,
        "to": None,
        "text": body.text,
        "encoding": segment(body.text).encoding,
        "parts": 0,
        "credits": 0,
        "status": SmsMessageStatus.queued.value,
        "transactional": body.transactional,
        "created_by": caller.user_id,
    }


def check(caller: Caller, body: SmsMessageRequest, data: dict[str, Any]) -> None:
    """The checks of one message to one contact, for `POST /sms/messages` and `sms.send_requested`
    alike: SMS active (403), a contact the caller may see, a mobile number in the field, the opt-out
    rule, tags known, the part limit (422 naming the field). Fills `data` as it goes (the number,
    the filled text, parts and credits), so a refusal can be recorded with what was known. A fill
    over the sandbox's limits is no refusal: `data` becomes `failed` with the reason."""
    settings = require_active(caller)
    try:  # unknown, deleted, erased or out of the caller's sight: the same answer
        row = PROJECTION.row(caller, data["contact_id"])
        contact = row["contact"]
    except NotFound:
        raise ValidationFailed.on("contact_id", f"No contact {body.contact_id}.", "not_found") from None
    raw = str(contact.get(body.number_field) or "").strip()
    if not raw:
        raise ValidationFailed.on("number_field", f"The contact has no {body.number_field} number.", "no_number")
    data["number"] = raw
    number = read_number(raw, settings.default_country)
    if number.e164 is None:
        problem = number.problem or "invalid_number"
        message = f"The contact's {body.number_field} {NUMBER_PROBLEMS[problem]}."
        raise ValidationFailed.on("number_field", message, problem)
    data["to"] = number.e164
    if not (body.transactional and settings.transactional_to_opted_out) and opted_out(caller, number.e164):
        message = f"The contact's {body.number_field} number opted out of this tenant's SMS."
        raise ValidationFailed.on("number_field", message, "opted_out")
    texts.check(body.text)  # a syntax error or an unknown tag: 422 naming `text`, nothing written
    try:  # the tags filled for this contact; parts and credits are counted on the filled text
        filled = texts.fill(body.text, row_context(data["contact_id"], row))
    except ValidationFailed as failed:  # over the sandbox's limits: the message fails with the reason
        filled, reason = None, failed.detail
    text = segment(filled if filled is not None else body.text, smart=settings.smart_encoding)
    parts = len(text.parts) if filled is not None else 0
    if parts > settings.max_parts:
        message = f"The text takes {parts} parts; the tenant allows {settings.max_parts}."
        raise ValidationFailed.on("text", message, "too_many_parts")
    data.update(text=text.text, encoding=text.encoding, parts=parts, credits=parts)
    if filled is None:  # not sent: nothing reserved, nothing queued
        data.update(status=SmsMessageStatus.failed.value, reason=reason)


def stage(caller: Caller, uow: UnitOfWork, message_id: str, data: dict[str, Any]) -> Record:
    """The message record in `uow`, with the reservation of its credits when it is `queued` (the
    commit then fails whole with a 402 when the balance is short). Listed by time (`by_type`) and
    in its contact's history (`by_contact`)."""
    created = clock.now()
    record = new_message_record(caller, message_id, {**data, "created_at": clock.iso(created)})
    if data["status"] == SmsMessageStatus.queued:  # the sweep's check that it reached the send queue
        record.set_due(caller.tenant, clock.iso(created + QUEUE_CHECK))
    caller.store.add(uow, record)
    if data["status"] == SmsMessageStatus.queued:
        credits.reserve(caller, uow, int(data["parts"]), None, message_id)
    return record


def new_message_record(caller: Caller, message_id: str, data: dict[str, Any]) -> Record:
    """A message record listed in the tenant's messages and its contact's, by `created_at`."""
    record = caller.store.new(caller.tenant, KIND, message_id, data)
    created = str(data["created_at"])
    record.gsi1sk = f"{created}#{message_id}"
    record.gsi2pk, record.gsi2sk = contact_key(caller.tenant, str(data["contact_id"])), f"{created}#{message_id}"
    return record


@cache
def _sqs() -> Any:
    import boto3  # here: a cold start that queues no message does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("sqs")


def enqueue(tenant: str, message_id: str) -> None:
    body = json.dumps({"tenant_id": tenant, "message_id": message_id})
    _sqs().send_message(QueueUrl=load(SmsSettings).send_queue_url, MessageBody=body)


def enqueue_or_leave_to_sweep(tenant: str, message_id: str) -> None:
    """Put a committed message on the send queue; if that fails, the message is still queued and
    listed for the sweep (`stage`), which queues it QUEUE_CHECK after its creation: the request
    succeeded, and a retry of it must not make a second message."""
    try:
        enqueue(tenant, message_id)
    except Exception:
        logger.exception("message not queued: the sweep queues it", extra={"message_id": message_id})


def get_message(caller: Caller, message_id: str) -> SmsMessage:
    record = caller.store.get(caller.tenant, KIND, message_id)
    if record is None or PROJECTION.hidden_from(caller, [str(record.data["contact_id"])]):
        raise NotFound(f"No message {message_id}.")
    return model_of(record, SmsMessage)


def list_messages(
    caller: Caller,
    contact_id: str | None,
    status: SmsMessageStatus | None,
    since: str | None,
    until: str | None,
    cursor: str | None,
    limit: int,
) -> Page[SmsMessage]:
    """The tenant's messages, or a contact's, newest first; `status` filters page-wise (a page may
    be shorter than `limit` with a cursor). A user who does not see every contact gets the
    messages to contacts they see; a contact they may not see lists nothing (as an unknown one)."""
    if contact_id and PROJECTION.hidden_from(caller, [contact_id]):
        return Page[SmsMessage](items=[], next_cursor=None)
    if contact_id:
        index, key, sort_key = Record.by_contact, contact_key(caller.tenant, contact_id), Record.gsi2sk
    else:
        index, key, sort_key = Record.by_type, tenant_key(caller.tenant, KIND.upper()), Record.gsi1sk
    scope = hashlib.sha256(json.dumps([contact_id, status, since, until]).encode()).hexdigest()[:16]

    def visible(records: list[Record]) -> list[Record]:
        hidden = PROJECTION.hidden_from(caller, [str(r.data["contact_id"]) for r in records])
        return [r for r in records if r.data["contact_id"] not in hidden]

    return partition_page(
        caller,
        f"sms-messages:{scope}",
        cursor,
        limit,
        index,
        key,
        sort_key,
        SmsMessage,
        newest_first=True,
        lower=since,
        upper=until,
        condition=Record.fields["status"] == status.value if status else None,
        keep=None if caller.sees_every_contact or contact_id else visible,
    )
