"""Pure rules of reminders and the to-do list: what a due record reminds, how index items read."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.activities.calendar import entry_of
from services.activities.reminders import reminder_of
from services.activities.store import Record, new_record
from services.activities.subscriptions import Job
from services.activities.todo import TodoKind, todo_item
from shared.due import cutoff_of

pytestmark = pytest.mark.disable_socket

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 24, 11, 59, tzinfo=UTC)


def record(kind: str, record_id: str, data: dict[str, Any]) -> Record:
    return new_record("t1", kind, record_id, data)


def task_data(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "task",
        "type": "task",
        "subject": "Send the offer",
        "due": "2026-11-24T11:59:00.000Z",
        "owner_id": "u1",
        "status": "open",
        "account_id": "A1",
        "created_by": "u1",
        "created_at": "2026-11-20T08:00:00.000Z",
        "updated_at": "2026-11-20T08:00:00.000Z",
        **changes,
    }


def booking_data(**changes: Any) -> dict[str, Any]:
    return {
        "id": "B1",
        "order_id": "O1",
        "order_number": "CO-1001",
        "subject": "Call the customer",
        "channel": "phone",
        "start": "2026-11-24T11:59:00+00:00",
        "user_id": "u2",
        "note": "Ask about the quote",
        "status": "open",
        "account_id": "A1",
        "contact_id": "C1",
        "sequence": 2,
        "created_at": "2026-11-20T08:00:00+00:00",
        "updated_at": "2026-11-21T08:00:00+00:00",
        **changes,
    }


def test_the_sweep_reminds_up_to_its_firing_or_now_whichever_is_later() -> None:
    assert cutoff_of(Job(job="reminders.sweep").scheduled_time, NOW) == NOW
    later = Job(job="reminders.sweep", scheduled_time="2026-11-24T12:05:00Z")
    assert cutoff_of(later.scheduled_time, NOW) == NOW + timedelta(minutes=5)
    earlier = Job(job="reminders.sweep", scheduled_time="2026-11-24T11:00:00Z")
    assert cutoff_of(earlier.scheduled_time, NOW) == NOW  # a job that ran late sends what fell due meanwhile too


def test_an_open_task_reminds_its_owner_with_a_stable_id() -> None:
    reminder = reminder_of(record("activity", "A9", task_data()), DUE)
    assert reminder is not None
    assert (reminder.user_id, reminder.source, reminder.source_id) == ("u1", "task", "A9")
    assert (reminder.subject, reminder.due_at, reminder.account_id) == ("Send the offer", DUE, "A1")
    again = reminder_of(record("activity", "A9", task_data(subject="Renamed")), DUE)
    assert again is not None and again.id == reminder.id  # one per item and due time
    moved = reminder_of(record("activity", "A9", task_data()), DUE + timedelta(hours=1))
    assert moved is not None and moved.id != reminder.id


def test_an_open_booking_reminds_its_user_with_its_order() -> None:
    reminder = reminder_of(record("booking", "B1", booking_data()), DUE)
    assert reminder is not None
    assert (reminder.user_id, reminder.source, reminder.source_id) == ("u2", "booking", "B1")
    assert (reminder.contact_order_id, reminder.account_id, reminder.contact_id) == ("O1", "A1", "C1")


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("activity", task_data(status="completed")),
        ("booking", booking_data(status="cancelled")),
        ("booking", booking_data(status="done")),
        ("contact_order", {"subject": "x", "status": "open"}),
    ],
)
def test_nothing_reminds_what_is_done_or_unknown(kind: str, data: dict[str, Any]) -> None:
    assert reminder_of(record(kind, "X1", data), DUE) is None


def test_todo_items_of_each_kind() -> None:
    task = todo_item(record("activity", "A9", task_data()), NOW)
    assert task is not None and task.kind == TodoKind.task and task.overdue
    assert (task.id, task.links.activity_id, task.links.account_id) == ("A9", "A9", "A1")

    booking = todo_item(record("booking", "B1", booking_data()), NOW)
    assert booking is not None and booking.kind == TodoKind.booking
    assert (booking.id, booking.due, booking.links.contact_order_id, booking.links.order_number) == (
        "B1",
        DUE,
        "O1",
        "CO-1001",
    )

    assigned = {"order_id": "O1", "order_number": "CO-1001", "subject": "Fix", "planned_date": "2026-12-01"}
    order = todo_item(record("assignment", "X", {**assigned, "user_id": "u1", "status": "new"}), NOW)
    assert order is not None and order.kind == TodoKind.contact_order and not order.overdue
    assert (order.id, order.due, order.status) == ("O1", datetime(2026, 12, 1, tzinfo=UTC), "new")
    undated = todo_item(record("assignment", "X", {**assigned, "planned_date": None, "user_id": "u1"}), NOW)
    assert undated is not None and undated.due is None and not undated.overdue

    assert todo_item(record("mystery", "M1", {"subject": "?"}), NOW) is None
    assert todo_item(record("activity", "A2", {"due": "soon"}), NOW) is None  # unreadable: left out, logged


def test_a_booking_reads_as_a_calendar_entry() -> None:
    entry = entry_of(record("booking", "B1", booking_data(end="2026-11-24T12:30:00+00:00")), NOW)
    assert entry is not None
    assert (entry.kind.value, entry.uid, entry.sequence, entry.user_id) == ("booking", "booking-B1@kontakt", 2, "u2")
    assert entry.description == "Contact order CO-1001\nAsk about the quote"
    assert not entry.cancelled
    cancelled = entry_of(record("booking", "B1", booking_data(status="cancelled")), NOW)
    assert cancelled is not None and cancelled.cancelled


def test_an_expired_tombstone_is_left_out() -> None:
    data = {
        "kind": "event",
        "id": "E1",
        "subject": "Gone",
        "start": "2026-11-30T09:00:00Z",
        "status": "cancelled",
        "cancelled": True,
        "sequence": 3,
        "updated_at": "2026-11-20T09:00:00Z",
        "user_id": "u1",
    }
    fresh = Record(pk="p", sk="s", kind="calendar_tombstone", fields={**data, "expires_at": "2026-12-20T00:00:00Z"})
    stale = Record(pk="p", sk="s", kind="calendar_tombstone", fields={**data, "expires_at": "2026-11-01T00:00:00Z"})
    kept = entry_of(fresh, NOW)
    assert kept is not None and kept.cancelled and kept.sequence == 3
    assert entry_of(stale, NOW) is None
