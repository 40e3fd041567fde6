"""The to-do list and the reminders the minute schedule sends, through the gateway and the jobs queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ulid import ULID

from tests.e2e.helpers import assert_problem, envelopes, new_tenant, settle, walk

# Contact and account ids the directory has not announced: new ULIDs, taken on trust (an activity
# may name a record made just now: tests/e2e/activities/test_activity_references.py).
A1, C1 = str(ULID()), str(ULID())
NOW = datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def in_days(days: float) -> datetime:
    return NOW + timedelta(days=days)


def task(client: Any, subject: str, due: datetime, **extra: Any) -> dict[str, Any]:
    response = client.post("/activities", json={"type": "task", "subject": subject, "due": iso(due), **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def sweep(stack: Any, *scheduled: datetime) -> None:
    """What the minute schedule puts on the jobs queue, for firings at these times."""
    assert stack.stack is not None
    queue = stack.stack.queues["ActivitiesJobsQueue"]
    for moment in scheduled:
        message = {"job": "reminders.sweep", "scheduled_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
        stack.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(message))
    stack.drain()


def reminders(stack: Any, tenant: str, count: int) -> list[dict[str, Any]]:
    """The reminder.due payloads of a tenant once `count` were published, after one more drain
    (an outbox event can reach the bus just after a drain: a missing one must have had time)."""
    if count:
        settle(stack, lambda: len(envelopes(stack, tenant, "reminder.due")) >= count)
    stack.drain()
    return [e["data"] for e in envelopes(stack, tenant, "reminder.due")]


# ----------------------------------------------------------------------------- to-do


def test_the_todo_list_holds_open_tasks_by_due_time(api: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    later = task(me, "Send the offer", in_days(5), account_id=A1, contact_id=C1)
    overdue = task(me, "Call back", NOW - timedelta(days=1))
    soon = task(me, "Prepare", in_days(1))
    done = task(me, "Done already", in_days(2))
    assert me.post(f"/activities/{done['id']}/complete").status_code == 200
    me.post("/activities", json={"type": "meeting", "subject": "An event", "start": iso(NOW), "end": iso(NOW)})
    task(api.as_(tenant, "u2", "user"), "Someone else's", in_days(1))
    task(api.as_(new_tenant(), "u1", "user"), "Another tenant's", in_days(1))

    items = walk(me, "/todo", limit=2)
    assert [(i["kind"], i["id"]) for i in items] == [
        ("task", overdue["id"]),
        ("task", soon["id"]),
        ("task", later["id"]),
    ]
    assert [i["overdue"] for i in items] == [True, False, False]
    last = items[-1]
    assert last["subject"] == "Send the offer" and last["status"] == "open"
    assert datetime.fromisoformat(last["due"]) == in_days(5)
    assert last["links"]["activity_id"] == later["id"]
    assert (last["links"]["account_id"], last["links"]["contact_id"]) == (A1, C1)

    assert me.post(f"/activities/{soon['id']}/complete").status_code == 200
    assert me.post(f"/activities/{done['id']}/reopen").status_code == 200
    ids = [i["id"] for i in walk(me, "/todo", limit=50)]
    assert ids == [overdue["id"], done["id"], later["id"]]


def test_managers_see_anyones_todo_list_users_only_their_own(api: Any) -> None:
    tenant = new_tenant()
    theirs = task(api.as_(tenant, "u2", "user"), "Theirs", in_days(1))
    manager = api.as_(tenant, "m1", "manager")
    assert [i["id"] for i in manager.get("/todo", params={"user_id": "u2"}).json()["items"]] == [theirs["id"]]
    assert manager.get("/todo").json()["items"] == []
    me = api.as_(tenant, "u1", "user")
    assert_problem(me.get("/todo", params={"user_id": "u2"}), 403)
    assert me.get("/todo", params={"user_id": "u1"}).status_code == 200
    assert_problem(me.get("/todo", params={"user_id": "bad id!"}), 422, "query.user_id")
    assert_problem(me.get("/todo", params={"limit": 0}), 422, "query.limit")


def test_a_todo_cursor_is_bound_to_its_list(api: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    for day in (1, 2):
        task(me, f"T{day}", in_days(day))
    cursor = me.get("/todo", params={"limit": 1}).json()["next_cursor"]
    assert cursor
    manager = api.as_(tenant, "m1", "manager")
    assert_problem(manager.get("/todo", params={"cursor": cursor, "user_id": "u2"}), 400, "query.cursor")
    assert_problem(api.as_(new_tenant(), "u1", "user").get("/todo", params={"cursor": cursor}), 400, "query.cursor")
    assert_problem(me.get("/todo", params={"cursor": cursor + "x"}), 400, "query.cursor")


# ----------------------------------------------------------------------------- reminders


def test_a_due_task_reminds_its_owner_exactly_once(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    manager = api.as_(tenant, "m1", "manager")
    due = in_days(1)
    created = task(manager, "Send the offer", due, owner_id="u2", account_id=A1, contact_id=C1)
    task(manager, "Not yet", in_days(3))  # due later: not in this sweep

    sweep(stack, due - timedelta(minutes=1))
    assert reminders(stack, tenant, 0) == []
    sweep(stack, due + timedelta(minutes=1))
    sent = reminders(stack, tenant, 1)
    assert len(sent) == 1
    reminder = sent[0]
    assert reminder["id"]
    assert (reminder["user_id"], reminder["source"], reminder["source_id"]) == ("u2", "task", created["id"])
    assert reminder["subject"] == "Send the offer"
    assert datetime.fromisoformat(reminder["due_at"]) == due
    assert (reminder["account_id"], reminder["contact_id"], reminder["contact_order_id"]) == (A1, C1, None)

    # The same firing delivered again, twice at once, and the next firing: nothing more.
    sweep(stack, due + timedelta(minutes=1), due + timedelta(minutes=1), due + timedelta(minutes=2))
    assert [r["source_id"] for r in reminders(stack, tenant, 1)] == [created["id"]]  # not `not_yet`
    # The task is still open and on the to-do list: only the reminder is done.
    assert created["id"] in [i["id"] for i in api.as_(tenant, "u2", "user").get("/todo").json()["items"]]


def test_a_task_moved_later_reminds_at_its_new_time_only(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    first, second = in_days(1), in_days(2)
    created = task(me, "Moving target", first)
    moved = me.patch(f"/activities/{created['id']}", json={"due": iso(second)})
    assert moved.status_code == 200, moved.text

    sweep(stack, first + timedelta(minutes=1))
    assert reminders(stack, tenant, 0) == []
    sweep(stack, second + timedelta(minutes=1))
    sent = reminders(stack, tenant, 1)
    assert [(r["source_id"], datetime.fromisoformat(r["due_at"])) for r in sent] == [(created["id"], second)]


def test_completed_and_deleted_tasks_never_remind(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    done = task(me, "Done", in_days(1))
    gone = task(me, "Gone", in_days(1))
    assert me.post(f"/activities/{done['id']}/complete").status_code == 200
    assert me.delete(f"/activities/{gone['id']}").status_code == 204
    reopened = task(me, "Reopened", in_days(1))
    me.post(f"/activities/{reopened['id']}/complete")
    me.post(f"/activities/{reopened['id']}/reopen")  # back in the sweep: it does remind

    sweep(stack, in_days(3))
    sent = reminders(stack, tenant, 1)
    assert [r["source_id"] for r in sent] == [reopened["id"]]


def test_the_minute_schedule_sends_the_reminder(api: Any, stack: Any) -> None:
    """The template's schedule -> jobs queue -> sweep, with a task falling due a moment from now."""
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    due = datetime.now(UTC) + timedelta(seconds=2)
    created = task(me, "Right now", due)
    # The runtime fires the schedule every minute by itself; firing it here makes it now. The sweep
    # reminds what fell due by the firing's scheduled time, which is the schedule's next minute: in
    # the last seconds of a minute that is before `due`, so a second firing, a minute later, covers
    # it (a reminder's id is derived from its due time: two sweeps send it once).
    for minutes in (2, 4):
        fired = stack.fire_schedules(datetime.now(UTC) + timedelta(minutes=minutes))
        assert any("activities-reminders" in name for name in fired), fired
    stack.drain()
    sent = reminders(stack, tenant, 1)
    assert [r["source_id"] for r in sent] == [created["id"]]


# ----------------------------------------------------------------------------- with contact orders


def test_tasks_bookings_and_assigned_orders_share_one_list_by_due(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    planned = in_days(4).date()
    order = me.post(
        "/contact-orders",
        json={"subject": "Service visit", "account_id": "A1", "assignee_ids": ["u1"], "planned_date": str(planned)},
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    start = in_days(2)
    booked = me.post(f"/contact-orders/{order_id}/bookings", json={"channel": "phone", "start": iso(start)})
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    first = task(me, "First", in_days(1))
    last = task(me, "Last", in_days(6))

    items = walk(me, "/todo", limit=1)
    assert [(i["kind"], i["id"]) for i in items] == [
        ("task", first["id"]),
        ("booking", booking["id"]),
        ("contact_order", order_id),
        ("task", last["id"]),
    ]
    booking_item, order_item = items[1], items[2]
    assert booking_item["subject"] == "Service visit" and datetime.fromisoformat(booking_item["due"]) == start
    assert booking_item["links"]["contact_order_id"] == order_id
    assert booking_item["links"]["order_number"] == order.json()["number"]
    assert order_item["links"]["contact_order_id"] == order_id
    assert datetime.fromisoformat(order_item["due"]).date() == planned

    # The booking reminds its user at its time, once; the tasks at theirs.
    sweep(stack, start + timedelta(minutes=1), start + timedelta(minutes=1))
    sent = reminders(stack, tenant, 2)
    assert sorted((r["source"], r["source_id"]) for r in sent) == [("booking", booking["id"]), ("task", first["id"])]
    reminded = next(r for r in sent if r["source"] == "booking")
    assert (reminded["user_id"], reminded["contact_order_id"], reminded["account_id"]) == ("u1", order_id, "A1")
    assert datetime.fromisoformat(reminded["due_at"]) == start
