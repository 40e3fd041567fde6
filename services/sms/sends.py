"""SMS sends to a target group [002 Tekstiviestit; issue 19 item 3a]: the send record and its
commands (send now or at a time, read, list, cancel), its counters (`count`).

Records (kinds of the sms table):
- `send`, id a ULID: data {target_group_id, text, number_field, transactional, scheduled_at,
  status, reason, audience {pages, last_page, total, complete}, credits, created_by, sender,
  created_at, started_at, updated_at}; statuses in domain/sends.py.

A send's text and group are checked before anything is written: the group in the target groups
projection (target_groups.py; 422 naming `target_group_id` when deleted or not the tenant's, after
a short grace for a group whose event is on its way).

Sending now writes the send ("resolving") and `audience.requested` (acting = the caller: the
members are the contacts they see) in one transaction; a scheduled send writes it "scheduled" and
a one-time schedule (shared/scheduler.py's RecordSchedule, as a scheduled email campaign's) puts
`sms.send` on the sms jobs queue at `scheduled_at`, which asks for the audience then (the snapshot
is taken at send time) as the user who scheduled it. Its pages become messages in
send_recipients.py. Every user of the tenant sees the sends (as email campaigns); cancelling is for
the send's creator, managers and admins (the kernel's check, `Caller.require`). Creating and
cancelling publish `sms_send.created` / `sms_send.cancelled` (events.py) in their transactions.

Counters: send_stats.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from services.sms import send_stats
from services.sms.domain import texts
from services.sms.domain.messages import KIND as MESSAGE
from services.sms.domain.messages import SmsMessageStatus
from services.sms.domain.segments import segment
from services.sms.domain.sends import (
    CANCELLABLE,
    KIND,
    REQUESTER,
    SCHEDULE,
    SEND_JOB,
    SendStats,
    SendStatus,
    SmsSend,
    SmsSendRequest,
    audience_fields,
    not_sent,
    shown_status,
)
from services.sms.events import SmsSendChanged
from services.sms.service import Caller, service_caller
from services.sms.setup import require_active
from services.sms.store import Record, SmsStore
from services.sms.subscriptions import job
from services.sms.target_groups import GROUPS
from shared import clock, scheduler
from shared.bulk_send import chunks
from shared.contracts.audience import ActingUser, AudienceRequested
from shared.errors import Conflict, ValidationFailed
from shared.events import changes_of
from shared.ids import derived_id, new_id
from shared.pagination import Page
from shared.permissions import Action
from shared.schedules import Firing, at_plan
from shared.service import kind_page, model_of, user_caller
from shared.store import ConcurrentUpdate, UnitOfWork, run_with_retries, tenant_key

# ----------------------------------------------------------------------------- records


def record_of(caller: Caller, send_id: str, action: Action | None = None) -> Record:
    """The send (every user of the tenant sees it); with `action`, 403 unless the caller may do it."""
    record: Record = caller.shared_record(KIND, send_id, "SMS send", "sms_sends", action)
    return record


def view(caller: Caller, record: Record) -> SmsSend:
    counts = send_stats.COUNTERS.read(caller.tenant, record.record_id)
    send = model_of(record, SmsSend)
    status = shown_status(record.data["status"], counts)
    return send.model_copy(update={"stats": SendStats(**counts), "status": status})


def _changed(record: Record) -> SmsSendChanged:
    data = record.data
    return SmsSendChanged(
        id=record.record_id,
        target_group_id=data["target_group_id"],
        status=data["status"],
        scheduled_at=data.get("scheduled_at"),
        number_field=data["number_field"],
        transactional=data.get("transactional", False),
    )


def get_send(caller: Caller, send_id: str) -> SmsSend:
    return view(caller, record_of(caller, send_id))


def list_sends(caller: Caller, cursor: str | None, limit: int, updated_since: datetime | None = None) -> Page[SmsSend]:
    """The tenant's sends in id (creation) order, each with its counters."""
    listed = kind_page(caller, KIND, cursor, limit, SmsSend, updated_since)
    for item in listed.items:
        counts = send_stats.COUNTERS.read(caller.tenant, item.id)
        item.stats = SendStats(**counts)
        item.status = shown_status(item.status, counts)
    return listed


# ----------------------------------------------------------------------------- commands


def check_text(caller: Caller, text: str) -> None:
    """422 naming `text`: tags that cannot be filled, or more parts than the tenant allows as written."""
    settings = require_active(caller)
    texts.check(text)
    parts = len(segment(text, smart=settings.smart_encoding).parts)
    if parts > settings.max_parts:
        message = f"The text takes {parts} parts as written; the tenant allows {settings.max_parts}."
        raise ValidationFailed.on("text", message, "too_many_parts")


def create_send(caller: Caller, body: SmsSendRequest) -> SmsSend:
    """A send now (its audience asked for in the same transaction) or at `scheduled_at`."""
    check_text(caller, body.text)
    plan = None
    if body.scheduled_at is not None:
        plan = at_plan(body.scheduled_at.replace(microsecond=0), "UTC", clock.now())
        if plan is None:
            raise ValidationFailed.on("scheduled_at", "Give a time in the future.", "past")
    GROUPS.require(caller, body.target_group_id)  # 422 naming target_group_id: nothing written
    send_id = new_id()
    now = clock.iso(clock.now())
    acting = caller.acting_user()
    data: dict[str, Any] = {
        **body.model_dump(mode="json"),
        "status": SendStatus.scheduled.value if plan else SendStatus.resolving.value,
        "audience": {},
        "credits": 0,
        "created_by": caller.user_id,
        "sender": acting.model_dump(mode="json") if acting else None,
        "created_at": now,
        "updated_at": now,
    }
    if plan:
        data["scheduled_at"] = clock.iso(body.scheduled_at.replace(microsecond=0))  # type: ignore[union-attr]
    record = caller.store.new(caller.tenant, KIND, send_id, data)
    uow = UnitOfWork()
    if plan is None:
        _request_audience(caller, uow, record, acting)
    caller.store.add(uow, record)
    uow.publish(caller.event("sms_send.created", _changed(record)))
    uow.commit()
    if plan is not None:
        undo = lambda: _remove(caller, send_id)  # noqa: E731
        scheduler.create_record_schedule(SCHEDULE, caller.tenant, send_id, plan, undo)
    return view(caller, record)


def _remove(caller: Caller, send_id: str) -> None:
    record = caller.store.get(caller.tenant, KIND, send_id)
    if record is not None:
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        uow.commit()


def _request_audience(caller: Caller, uow: UnitOfWork, record: Record, acting: ActingUser | None) -> None:
    """`audience.requested` for the send, in `uow` (the event id derived from the send: asked once)."""
    now = clock.iso(clock.now())
    record.data = {**record.data, "status": SendStatus.resolving.value, "started_at": now, "updated_at": now}
    request = AudienceRequested(
        request_id=record.record_id,
        requester=REQUESTER,
        target_group_id=record.data["target_group_id"],
        fields=audience_fields(record.data["text"]),
        acting=acting,
    )
    event_id = derived_id(caller.tenant, record.record_id, "audience.requested")
    uow.publish(caller.event("audience.requested", request, event_id=event_id))


def cancel_send(caller: Caller, send_id: str) -> SmsSend:
    """Cancel a send before its last page came (scheduled or resolving): nothing is reserved or sent
    (the pages still to come stage nothing); 409 once its credits are reserved."""

    def attempt() -> Record:
        record = record_of(caller, send_id, Action.SEND)
        if record.data["status"] == SendStatus.cancelled:
            return record
        if record.data["status"] not in CANCELLABLE:
            raise Conflict(f"SMS send {send_id} is {record.data['status']}: it cannot be cancelled.")
        uow = UnitOfWork()
        changes = {"status": SendStatus.cancelled.value, "updated_at": clock.iso(clock.now())}
        before = dict(record.data)
        caller.store.replace(uow, record, {**record.data, **changes})
        event = caller.event("sms_send.cancelled", _changed(record), changes=changes_of(before, record.data))
        uow.publish(event)
        uow.commit()
        return record

    record: Record = run_with_retries(attempt)
    if record.data.get("scheduled_at"):
        scheduler.delete_record_schedule(SCHEDULE, send_id)
    skip_staged(caller, send_id, "The send was cancelled.")
    return view(caller, record)


# ----------------------------------------------------------------------------- its messages


def messages_key(tenant: str, send_id: str) -> str:
    return tenant_key(tenant, "SMS_SEND", send_id, MESSAGE.upper())


def message_records(tenant: str, send_id: str) -> Iterable[Record]:
    return Record.by_parent.query(messages_key(tenant, send_id), page_size=500)


def skip_staged(caller: Caller, send_id: str, reason: str, queued: list[Record] | None = None) -> None:
    """Mark the send's still-queued messages skipped with their counters (nothing was reserved for
    them: the send was refused or cancelled before its last page)."""
    if queued is None:
        queued = [r for r in message_records(caller.tenant, send_id) if r.data.get("status") == SmsMessageStatus.queued]
    for chunk in chunks(queued):
        try:
            _commit_skip(caller, send_id, chunk, reason)
        except ConcurrentUpdate:  # one changed since it was read: each alone
            for one in chunk:
                with suppress(ConcurrentUpdate):
                    fresh = caller.store.get(caller.tenant, MESSAGE, one.record_id)
                    if fresh is not None and fresh.data.get("status") == SmsMessageStatus.queued:
                        _commit_skip(caller, send_id, [fresh], reason)


def _commit_skip(caller: Caller, send_id: str, records: Sequence[Record], reason: str) -> None:
    uow = UnitOfWork()
    for record in records:
        caller.store.replace(uow, record, {**record.data, **not_sent(SmsMessageStatus.skipped, reason)})
    skipped = [(r.record_id, {"queued": -1, "skipped": 1}) for r in records]
    send_stats.COUNTERS.stage_many(uow, caller.tenant, send_id, skipped)
    uow.commit()


# ----------------------------------------------------------------------------- scheduled sends


def _stored(tenant: str, send_id: str) -> Record | None:
    return SmsStore().get(tenant, KIND, send_id)


@job(SEND_JOB)
@scheduler.on_firing(SCHEDULE, _stored, lambda record, _: record.data["status"] == SendStatus.scheduled)
def run_scheduled_send(record: Record, fired: Firing) -> None:
    """A send's schedule fired: ask for its audience now, as the user who scheduled it (the
    contacts they see then), unless it was cancelled meanwhile."""
    sender = record.data.get("sender")
    acting = ActingUser.model_validate(sender) if isinstance(sender, dict) else None
    caller = user_caller(Caller, fired.tenant_id, acting) if acting else service_caller(fired.tenant_id)

    def attempt() -> None:
        fresh = record_of(caller, record.record_id)
        if fresh.data["status"] != SendStatus.scheduled:
            return
        uow = UnitOfWork()
        _request_audience(caller, uow, fresh, acting)
        caller.store.replace(uow, fresh, fresh.data)
        uow.commit()

    run_with_retries(attempt)
