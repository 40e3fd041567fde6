"""A send's recipients [issue 19 item 3a]: its audience's pages become messages; on its last page
the whole send's credits are reserved at once and its messages queued; the list of them.

Each `audience.page` of a send stages one message per member (shared/bulk_send.py: transactions
of at most CHUNK new messages with their counters; a message written before is not written
again): id `derived_id(send_id, e164)` (domain/sends.py), the number read with the tenant's
default country; no number, an invalid or a landline one is `invalid_number`; an opted-out number
is `opted_out` (unless the send is transactional and the tenant's `transactional_to_opted_out` is
on); a gone contact is `skipped`; the text's tags are filled for the contact (its projection row,
else the page's fields); a fill that fails or takes more parts than the tenant allows is `failed`.
The rest are `queued` with their parts, not yet on the send queue.

Then the page is recorded on the send (`audience_with`: pages counted by number, whatever their
order or redelivery). When every page is in, `finish` reserves the credits of all its queued
messages in one transaction with the send's move to "sending" (or, short, moves it to "refused"
with nothing reserved), then skips (refused) or queues (SendMessageBatch, 10 per call) its
queued messages. Every step is repeated by a redelivered page and does nothing twice: the send's
status says whether the credits are reserved, a message's whether it is still queued, and the
sender drops a message that is no longer queued. So a crash anywhere loses nothing and sends
nothing twice.

Messages are listed by the send in `by_parent` gsi3 `T#<t>#SMS_SEND#<id>#MESSAGE` / message id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from services.sms import credits, send_stats, sends
from services.sms.domain import texts
from services.sms.domain.messages import KIND as MESSAGE
from services.sms.domain.messages import OPT_OUT, SmsMessage, SmsMessageStatus
from services.sms.domain.segments import segment
from services.sms.domain.sends import KIND, NUMBER_REASONS, REQUESTER, SendStatus, member_number, not_sent
from services.sms.domain.setup import SmsSetup
from services.sms.messages import new_message_record
from services.sms.recipients import PROJECTION
from services.sms.sends import message_records, messages_key, skip_staged
from services.sms.service import Caller, service_caller
from services.sms.settings import SmsSettings
from services.sms.setup import setup
from services.sms.store import Record
from services.sms.subscriptions import subscribe
from shared import clock
from shared.bulk_send import AudienceSends, messages_page, send_batches, write_messages
from shared.contracts.audience import AudienceMember, AudiencePage
from shared.errors import PaymentRequired, ValidationFailed
from shared.events import Envelope
from shared.observability import logger
from shared.pagination import Page
from shared.settings import load
from shared.store import DataItem, UnitOfWork, run_with_retries
from shared.tags import row_context, tag_context

STAGING = (SendStatus.resolving,)  # the statuses whose pages stage messages


# ----------------------------------------------------------------------------- audience pages


SENDS = AudienceSends(REQUESTER, KIND, "SMS send", service_caller, "reason", "target_group_id")


@subscribe("audience.page")
def on_audience_page(envelope: Envelope, uow: UnitOfWork) -> None:
    """Stage one page of a send's members, record the page, and finish the send once all are in.
    A page with the directory's error (an unknown group, another tenant's, or one the sender may
    not see) fails the send naming `target_group_id`."""
    keep = [s for s in SendStatus if s not in STAGING]
    done = SENDS.on_page(envelope, _stage_page, SendStatus.failed.value, keep)
    if done is not None and done[1].data.get("audience", {}).get("complete"):
        finish(done[0], done[1].record_id)


def _stage_page(caller: Caller, record: DataItem, audience: AudiencePage) -> bool:
    if record.data["status"] in STAGING:
        stage_members(caller, record, audience.members)
    return True


def stage_members(caller: Caller, send: DataItem, members: Sequence[AudienceMember]) -> None:
    """Every member's message exists afterwards (one per number; one written before is kept)."""
    settings = setup(caller)
    data = send.data
    field = data.get("number_field") or "mobile"
    by_id: dict[str, tuple[AudienceMember, str | None, str | None]] = {}
    for member in members:
        raw = str(member.fields.get(field) or "").strip()
        message_id, e164, problem = member_number(send.record_id, raw, settings.default_country, member.contact_id)
        by_id.setdefault(message_id, (member, e164, problem))  # the same number twice: one message
    existing = caller.store.get_many(caller.tenant, MESSAGE, list(by_id))
    todo = {m: v for m, v in by_id.items() if m not in existing}
    if not todo:
        return
    numbers = [e164 for _, e164, _ in todo.values() if e164]
    opted_out = set(caller.store.get_many(caller.tenant, OPT_OUT, numbers)) if numbers else set()
    if data.get("transactional") and settings.transactional_to_opted_out:
        opted_out = set()
    rows = PROJECTION.rows_of(caller.tenant, [member.contact_id for member, _, _ in todo.values()])
    now = clock.iso(clock.now())
    staged: list[tuple[str, dict[str, Any]]] = []
    for message_id, (member, e164, problem) in todo.items():
        row = rows.get(member.contact_id)
        message = {
            "send_id": send.record_id,
            "contact_id": member.contact_id,
            "number_field": field,
            "number": str(member.fields.get(field) or "").strip(),
            "to": e164 or "",
            "text": data["text"],
            "encoding": "GSM-7",
            "transactional": bool(data.get("transactional")),
            "created_by": data.get("created_by") or caller.user_id,
            "created_at": now,
            **_outcome(settings, data["text"], member, row.data if row else None, e164, problem, opted_out),
        }
        if message["status"] == SmsMessageStatus.invalid_number:
            message["reason"] = str(message["reason"]).format(field=field)
        staged.append((message_id, message))
    key = messages_key(caller.tenant, send.record_id)
    write_messages(caller, send.record_id, staged, new_message_record, key, send_stats.COUNTERS)


def _outcome(
    settings: SmsSetup,
    text: str,
    member: AudienceMember,
    row: dict[str, Any] | None,
    e164: str | None,
    problem: str | None,
    opted_out: set[str],
) -> dict[str, Any]:
    """A member's message status and filled text: queued with its parts, or why it is not sent."""
    if row is not None and row.get("gone"):
        return not_sent(SmsMessageStatus.skipped, f"The contact was {row['gone']}.")
    if e164 is None:
        return not_sent(SmsMessageStatus.invalid_number, NUMBER_REASONS[problem or "invalid_number"])
    if e164 in opted_out:
        return not_sent(SmsMessageStatus.opted_out, "The number opted out of this tenant's SMS.")
    if row is not None:
        context = row_context(member.contact_id, row)
    else:  # the projection has not heard of the contact yet: what the page carried
        context = tag_context({"id": member.contact_id, **member.fields}, None, None)
    try:
        filled = texts.fill(text, context)
    except ValidationFailed as failed:
        return not_sent(SmsMessageStatus.failed, failed.detail)
    result = segment(filled, smart=settings.smart_encoding)
    parts = len(result.parts)
    if parts > settings.max_parts:
        reason = f"The text takes {parts} parts once filled; the tenant allows {settings.max_parts}."
        return not_sent(SmsMessageStatus.failed, reason)
    return {
        "status": SmsMessageStatus.queued.value,
        "text": result.text,
        "encoding": result.encoding,
        "parts": parts,
        "credits": parts,
    }


# ----------------------------------------------------------------------------- the last page


def finish(caller: Caller, send_id: str) -> None:
    """Every page is in: reserve the whole send's credits and queue its messages, or refuse it
    whole (see the module). Safe to repeat at any point."""
    queued = [r for r in message_records(caller.tenant, send_id) if r.data.get("status") == SmsMessageStatus.queued]
    needed = sum(int(r.data.get("credits") or 0) for r in queued)

    def attempt() -> Record:
        record = sends.record_of(caller, send_id)
        if record.data["status"] != SendStatus.resolving:
            return record
        now = clock.iso(clock.now())
        uow = UnitOfWork()
        changes = {"status": SendStatus.sending.value, "credits": needed, "updated_at": now}
        caller.store.replace(uow, record, {**record.data, **changes})
        if needed:
            credits.reserve(caller, uow, needed, send_id)
        try:
            uow.commit()
        except PaymentRequired as short:
            uow = UnitOfWork()
            changes = {"status": SendStatus.refused.value, "reason": short.detail, "credits": 0, "updated_at": now}
            caller.store.replace(uow, record, {**record.data, **changes})
            uow.commit()
        return record

    record: Record = run_with_retries(attempt)
    status = record.data["status"]
    if status == SendStatus.sending:
        body = {"tenant_id": caller.tenant}
        bodies = [json.dumps({**body, "message_id": r.record_id, "send_id": send_id}) for r in queued]
        send_batches(load(SmsSettings).send_queue_url, bodies)
        logger.info("SMS send queued", extra={"send_id": send_id, "messages": len(queued), "credits": needed})
    elif status in (SendStatus.refused, SendStatus.cancelled):
        skip_staged(caller, send_id, str(record.data.get("reason") or f"The send was {status}."), queued)


# ----------------------------------------------------------------------------- the list


def list_send_messages(
    caller: Caller, send_id: str, status: SmsMessageStatus | None, cursor: str | None, limit: int
) -> Page[SmsMessage]:
    """The send's messages in message id order, optionally of one status; a message to a contact
    the caller may not see is left out."""
    sends.record_of(caller, send_id)
    key, scope = messages_key(caller.tenant, send_id), f"sms-send:{send_id}:{status or ''}"
    hidden = lambda ids: set() if caller.sees_every_contact else PROJECTION.hidden_from(caller, ids)  # noqa: E731
    value = status.value if status else None
    return messages_page(caller, Record, key, value, scope, cursor, limit, SmsMessage, hidden)
