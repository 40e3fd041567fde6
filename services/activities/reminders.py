"""Reminders [002 home view]: `reminder.due` for open tasks and bookings at their time.

What may need a reminder sits in the `by_due` index across tenants (`DUE#<shard>` /
`<due>#<tenant>#<id>`): activities.py puts an open task with a future due date there,
order_bookings.py an open booking with a future start. Every minute a schedule puts
`reminders.sweep` on the jobs queue; the sweep reads each shard up to now and, per item, publishes
the reminder and takes the item out of the index in ONE transaction conditioned on the record's
version. So a crash, a redelivered job or two overlapping sweeps never remind twice (the second
finds the item gone or its version moved on and re-reads it), and none is lost (an item leaves
the index only with its reminder). A task moved to a later time in the meantime is re-read and
left for the sweep at its new time; a completed task has left the index already.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

from services.activities.events import ReminderDue
from services.activities.store import Record
from services.activities.subscriptions import Job, job
from shared import clock
from shared.due import due_keys
from shared.events import Actor, new_event
from shared.ids import derived_id
from shared.observability import logger
from shared.store import AlreadyApplied, UnitOfWork, run_with_retries

ACTOR = Actor(type="service", id="service:activities")
SWEEP_BUDGET_SECONDS = 90  # the jobs function times out at 120 s; what is left waits a minute


def cutoff_of(current: Job, now: datetime) -> datetime:
    """Remind what fell due by the firing's scheduled time, or by now if the job runs late."""
    if not current.scheduled_time:
        return now
    scheduled = datetime.fromisoformat(current.scheduled_time)
    return max(scheduled, now)


def reminder_of(record: Record, due_at: datetime) -> ReminderDue | None:
    """The reminder a due record calls for; None if it no longer needs one (done, cancelled)."""
    data = record.data
    if data.get("status", "open") != "open":
        return None
    common = {
        "id": derived_id("reminder", record.pk, clock.iso(due_at)),
        "subject": data.get("subject", ""),
        "due_at": due_at,
        "account_id": data.get("account_id"),
        "contact_id": data.get("contact_id"),
    }
    if record.kind == "activity" and data.get("owner_id"):
        source = "task" if data.get("kind") == "task" else "event"
        return ReminderDue(**common, user_id=data["owner_id"], source=source, source_id=record.record_id)
    if record.kind == "booking" and data.get("user_id"):
        return ReminderDue(
            **common,
            user_id=data["user_id"],
            source="booking",
            source_id=data.get("id") or record.record_id,
            contact_order_id=data.get("order_id"),
        )
    return None


def remind(pk: str, sk: str, cutoff: datetime) -> bool:
    """Send one item's reminder if it is still due by `cutoff`; True if one was sent now."""

    def run(publish: bool = True) -> bool:
        try:
            record = Record.get(pk, sk, consistent_read=True)
        except Record.DoesNotExist:
            return False
        if not record.duesk:
            return False  # reminded already, completed or cancelled
        due_iso, tenant, _ = record.duesk.split("#", 2)
        due_at = datetime.fromisoformat(due_iso)
        if due_at > cutoff:
            return False  # moved later: the sweep at its new time takes it
        reminder = reminder_of(record, due_at) if publish else None
        record.set_due(tenant, None)
        uow = UnitOfWork()
        uow.save(record)  # conditioned on the version read: a concurrent change re-runs this
        if reminder is not None:
            uow.publish(new_event("reminder.due", tenant, reminder, actor=ACTOR, event_id=reminder.id))
        try:
            uow.commit()
        except AlreadyApplied:  # this very reminder went out before (same id): only take the item out
            return run(publish=False)
        return reminder is not None

    return bool(run_with_retries(run))


def _due_keys(cutoff: datetime) -> Iterator[Record]:
    """The keys of every item due by the cutoff (shared/due.py)."""
    return due_keys(Record, cutoff)


@job("reminders.sweep")
def sweep(current: Job) -> None:
    """Remind everything due by the cutoff; an item that fails stays in the index for the next sweep."""
    cutoff = cutoff_of(current, clock.now())
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    sent = seen = failed = 0
    for key in _due_keys(cutoff):
        if time.monotonic() > deadline:
            break
        seen += 1
        try:
            sent += remind(key.pk, key.sk, cutoff)
        except Exception:  # one bad item must not hold back everyone else's reminders
            failed += 1
            logger.exception("reminder failed", extra={"pk": key.pk})
    logger.info("reminders swept", extra={"cutoff": clock.iso(cutoff), "due": seen, "sent": sent, "failed": failed})
