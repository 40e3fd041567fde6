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

from datetime import datetime

from services.activities.events import ReminderDue
from services.activities.store import Record
from services.activities.subscriptions import Job, job
from shared import clock, due
from shared.events import Actor, new_event
from shared.ids import derived_id
from shared.store import AlreadyApplied, UnitOfWork, run_with_retries

ACTOR = Actor(type="service", id="service:activities")


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
        found = due.due_now(Record, pk, sk, cutoff)
        if found is None:
            return False  # reminded already, completed, cancelled, or moved later
        record, tenant, due_at = found
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


@job("reminders.sweep")
def sweep(current: Job) -> None:
    """Remind everything due by the cutoff; an item that fails stays in the index for the next sweep."""
    cutoff = due.cutoff_of(current.scheduled_time, clock.now())
    due.sweep(Record, cutoff, lambda pk, sk, at: "sent" if remind(pk, sk, at) else "not_due", "reminders")
