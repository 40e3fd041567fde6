"""Contact orders [003] through the gateway: fields, new customers in the directory, notes, time,
bookings in the calendar / to-do list / reminders, assignment, files, close, convert, lists,
favourites and the permission set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from icalendar import Calendar

from shared.ids import derived_id
from tests.e2e.helpers import assert_problem, envelopes, new_tenant, put_envelope, settle, upload_file, walk

NOW = datetime.now(UTC).replace(microsecond=0)
ALL = ["view", "view_assigned", "edit", "create", "delete", "assign", "assign_self", "delete_files"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def create(client: Any, **extra: Any) -> dict[str, Any]:
    response = client.post("/contact-orders", json={"subject": "Sales", "account_id": "ACC1", **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def payloads(stack: Any, tenant: str, event_type: str, count: int) -> list[dict[str, Any]]:
    settle(stack, lambda: len(envelopes(stack, tenant, event_type)) >= count)
    return [e["data"] for e in envelopes(stack, tenant, event_type)]


def set_permissions(admin: Any, **roles: list[str]) -> None:
    response = admin.patch("/contact-orders/settings", json={"permissions": roles})
    assert response.status_code == 200, response.text


# ----------------------------------------------------------------------------- fields


def test_subject_and_customer_are_required_and_numbers_run_per_tenant(api: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    assert_problem(me.post("/contact-orders", json={"account_id": "ACC1"}), 422, "subject")
    assert_problem(me.post("/contact-orders", json={"subject": "Sales"}), 422, "account_id")
    both = {"subject": "Sales", "account_id": "ACC1", "new_customer": {"name": "Oy Ab"}}
    assert_problem(me.post("/contact-orders", json=both), 422, "new_customer")
    assert_problem(
        me.post("/contact-orders", json={"subject": "S", "account_id": "A", "status": "nope"}), 422, "status"
    )
    bad_place = {"subject": "S", "account_id": "A", "location": {"latitude": 60.1}}
    assert_problem(me.post("/contact-orders", json=bad_place), 422, "location")
    two_facilities = {"subject": "S", "account_id": "A", "facility_id": "F1", "facility_name": "Plant"}
    assert_problem(me.post("/contact-orders", json=two_facilities), 422, "facility_name")
    assert me.get("/contact-orders").json()["items"] == []  # nothing of the rejected ones

    first, second = create(me), create(me, subject="Service question")
    assert (first["number"], second["number"]) == ("KO-1", "KO-2")
    assert (first["status"], first["owner_id"], first["closed"]) == ("new", "u1", False)
    assert create(api.as_(new_tenant(), "u1", "user"))["number"] == "KO-1"  # per tenant

    admin = api.as_(tenant, "admin-1", "admin")
    assert_problem(me.patch("/contact-orders/settings", json={"number_prefix": "X-"}), 403)
    assert admin.patch("/contact-orders/settings", json={"number_prefix": "CO/"}).json()["number_prefix"] == "CO/"
    assert create(me)["number"] == "CO/3"


def test_fields_facilities_statuses_change_and_delete(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me, admin = api.as_(tenant, "u1", "user"), api.as_(tenant, "admin-1", "admin")
    order = create(
        me,
        facility_name="Main plant",
        service_object="Boiler 7",
        contact_id="CON1",
        location={"address": "Kaivokatu 1, Helsinki", "latitude": 60.17, "longitude": 24.94},
        hours_spent=1.5,
        planned_date="2026-12-01",
    )
    assert (order["facility_name"], order["service_object"], order["contact_id"]) == ("Main plant", "Boiler 7", "CON1")
    assert order["location"] == {"address": "Kaivokatu 1, Helsinki", "latitude": 60.17, "longitude": 24.94}
    assert (order["hours_spent"], order["planned_date"]) == (1.5, "2026-12-01")
    facilities = me.get("/contact-orders/facilities").json()["items"]
    assert [(f["id"], f["name"], f["account_id"]) for f in facilities] == [(order["facility_id"], "Main plant", "ACC1")]
    again = create(me, facility_name="  main   PLANT ")
    assert again["facility_id"] == order["facility_id"]  # the same facility, not a second one
    assert len(me.get("/contact-orders/facilities").json()["items"]) == 1
    assert_problem(me.post("/contact-orders", json={"subject": "S", "account_id": "A", "facility_id": "F0"}), 422)
    assert_problem(me.post("/contact-orders/facilities", json={"name": "Main plant", "account_id": "ACC1"}), 409)
    made = me.post("/contact-orders/facilities", json={"name": "Warehouse", "account_id": "ACC1"}).json()
    assert create(me, facility_id=made["id"])["facility_name"] == "Warehouse"

    changed = me.patch(
        f"/contact-orders/{order['id']}",
        json={"status": "in_progress", "hours_spent": "2.25", "planned_date": "2026-12-03", "service_object": None},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["hours_spent"]) == ("in_progress", 2.25)
    assert changed.json()["service_object"] is None and changed.json()["version"] == 2
    assert_problem(me.patch(f"/contact-orders/{order['id']}", json={"status": "nope"}), 422, "status")
    assert_problem(me.patch(f"/contact-orders/{order['id']}", json={"subject": None}), 422, "subject")

    # Admins replace the status list; an order keeps a status that left it.
    statuses = [{"code": "new", "label": "New"}, {"code": "quoted", "label": "Offer sent"}]
    assert admin.patch("/contact-orders/settings", json={"statuses": statuses}).status_code == 200
    assert me.patch(f"/contact-orders/{again['id']}", json={"status": "quoted"}).json()["status"] == "quoted"
    assert_problem(me.patch(f"/contact-orders/{again['id']}", json={"status": "in_progress"}), 422, "status")
    assert me.get(f"/contact-orders/{order['id']}").json()["status"] == "in_progress"
    dup = [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]
    assert_problem(admin.patch("/contact-orders/settings", json={"statuses": dup}), 422, "statuses")

    soon = {"channel": "digital", "start": iso(NOW + timedelta(days=3))}
    booked = me.post(f"/contact-orders/{order['id']}/bookings", json=soon).json()
    assert_problem(me.delete(f"/contact-orders/{order['id']}"), 403)  # users lack "delete" by default
    assert admin.delete(f"/contact-orders/{order['id']}").status_code == 204
    assert_problem(me.get(f"/contact-orders/{order['id']}"), 404)
    assert [(e["id"], e["status"]) for e in calendar(me)] == [(booked["id"], "cancelled")]  # its booking too
    assert todo(me) == []
    deleted = payloads(stack, tenant, "contact_order.deleted", 1)
    assert deleted[0]["id"] == order["id"]
    updated = [e["data"]["id"] for e in envelopes(stack, tenant, "contact_order.updated")]
    assert updated == [order["id"], again["id"], order["id"]]  # changed, status of the other, booked


# ----------------------------------------------------------------------------- new customers


def test_a_new_customer_is_added_to_the_directory_once(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    new_customer = {
        "name": "Konepaja Oy",
        "email": "info@konepaja.example.fi",
        "city": "Tampere",
        "country": "fi",
        "contact": {"first_name": "Mia", "last_name": "Mäki", "email": "mia@konepaja.example.fi"},
    }
    assert_problem(me.post("/contact-orders", json={"subject": "S", "new_customer": {"name": ""}}), 422)
    order = create(me, account_id=None, new_customer=new_customer)
    account_id, contact_id = derived_id(order["id"], "account"), derived_id(order["id"], "contact")
    assert (order["account_id"], order["contact_id"]) == (account_id, contact_id)
    assert (order["customer_name"], order["customer_created"]) == ("Konepaja Oy", True)

    account = settle(stack, lambda: r.json() if (r := me.get(f"/accounts/{account_id}")).status_code == 200 else None)
    assert account, "the directory did not add the customer"
    assert (account["name"], account["city"], account["country"]) == ("Konepaja Oy", "Tampere", "FI")
    assert account["owner"] == {"type": "user", "id": "u1"} and account["number"].startswith("ACC-")
    contact = settle(stack, lambda: r.json() if (r := me.get(f"/contacts/{contact_id}")).status_code == 200 else None)
    assert (contact["first_name"], contact["account_id"]) == ("Mia", account_id)

    # Deliver the event again, twice, and once more under a new id (its dedupe marker gone): nothing twice.
    # An order for the existing customer adds nothing either.
    created = envelopes(stack, tenant, "contact_order.created")[0]
    put_envelope(stack, created)
    put_envelope(stack, created)
    put_envelope(stack, {**created, "id": derived_id(created["id"], "again")})
    create(me, account_id=account_id)
    stack.drain()
    stack.drain()
    assert len([e for e in envelopes(stack, tenant, "account.created") if e["data"]["id"] == account_id]) == 1
    assert len(envelopes(stack, tenant, "contact.created")) == 1
    assert ids(walk(me, "/accounts", limit=50)) == [account_id]
    assert me.get(f"/accounts/{account_id}").json()["version"] == 1


# ----------------------------------------------------------------------------- notes and time


def test_notes_are_stamped_with_time_and_author_and_append_only(api: Any) -> None:
    tenant = new_tenant()
    me, colleague = api.as_(tenant, "u1", "user"), api.as_(tenant, "u2", "user")
    order = create(me)
    assert_problem(me.post(f"/contact-orders/{order['id']}/notes", json={"text": "  "}), 422, "text")
    first = me.post(f"/contact-orders/{order['id']}/notes", json={"text": "Called, wants an offer."})
    assert first.status_code == 201, first.text
    colleague.post(f"/contact-orders/{order['id']}/notes", json={"text": "Visited the site."})
    notes = walk(me, f"/contact-orders/{order['id']}/notes", limit=1)
    assert [(n["excerpt"], n["author_id"]) for n in notes] == [
        ("Called, wants an offer.", "u1"),
        ("Visited the site.", "u2"),
    ]
    assert all(datetime.fromisoformat(n["created_at"]) >= NOW for n in notes)
    current = me.get(f"/contact-orders/{order['id']}").json()
    assert current["notes_count"] == 2 and current["last_note_at"] == notes[-1]["created_at"]
    note_url = f"/contact-orders/{order['id']}/notes/{notes[0]['id']}"
    assert me.get(note_url).json()["text"] == "Called, wants an offer."
    assert me.patch(note_url, json={"text": "rewritten"}).status_code == 405  # no way to change a note
    assert me.delete(note_url).status_code == 405
    assert walk(me, f"/contact-orders/{order['id']}/notes", limit=50) == notes


def test_time_spent_in_hours(api: Any) -> None:
    me = api.as_(new_tenant(), "u1", "user")
    order = create(me, hours_spent=0.5)
    url = f"/contact-orders/{order['id']}/time-entries"
    assert me.post(url, json={"hours": 1.25, "note": "Offer"}).status_code == 201
    after = me.post(url, json={"hours": "0.75", "date": "2026-11-30"}).json()
    assert after["hours_spent"] == 2.5
    assert [(e["hours"], e["user_id"]) for e in after["time_entries"]] == [(1.25, "u1"), (0.75, "u1")]
    assert after["time_entries"][1]["date"] == "2026-11-30"
    assert_problem(me.post(url, json={"hours": 0}), 422, "hours")
    assert_problem(me.post(url, json={"hours": 1.234}), 422, "hours")
    assert_problem(me.patch(f"/contact-orders/{order['id']}", json={"hours_spent": -1}), 422, "hours_spent")


# ----------------------------------------------------------------------------- bookings


def calendar(client: Any, user: str | None = None) -> list[dict[str, Any]]:
    params = {"from": iso(NOW - timedelta(days=1)), "to": iso(NOW + timedelta(days=30)), "limit": 200}
    if user:
        params["user_id"] = user
    response = client.get("/calendar", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def feed(api: Any, path: str) -> dict[str, Any]:
    """The iCalendar feed as a subscribing client reads it, by UID."""
    response = api.anonymous().get(path)
    assert response.status_code == 200, response.text
    return {str(e["UID"]): e for e in Calendar.from_ical(response.text).walk("VEVENT")}


def todo(client: Any) -> list[dict[str, Any]]:
    return walk(client, "/todo", limit=50)


def sweep(stack: Any, scheduled: datetime) -> None:
    queue = stack.stack.queues["ActivitiesJobsQueue"]
    message = {"job": "reminders.sweep", "scheduled_time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")}
    stack.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(message))
    stack.drain()


def test_bookings_sit_in_the_calendar_and_todo_list_and_remind(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me, colleague, third = (api.as_(tenant, u, "user") for u in ("u1", "u2", "u3"))
    order = create(me, subject="Offer follow-up", contact_id="CON1")
    url = f"/contact-orders/{order['id']}/bookings"
    start = NOW + timedelta(hours=1)
    assert_problem(me.post(url, json={"channel": "fax", "start": iso(start)}), 422, "channel")
    backwards = {"channel": "phone", "start": iso(start), "end": iso(start - timedelta(minutes=5))}
    assert_problem(me.post(url, json=backwards), 422, "end")

    call = me.post(url, json={"channel": "phone", "start": iso(start), "note": "Ask about the offer"})
    assert call.status_code == 201, call.text
    mine = call.json()
    assert (mine["user_id"], mine["status"], mine["sequence"], mine["subject"]) == ("u1", "open", 0, "Offer follow-up")
    assert (mine["order_number"], mine["account_id"], mine["contact_id"]) == ("KO-1", "ACC1", "CON1")
    meeting = {"channel": "meeting", "start": iso(start), "end": iso(start + timedelta(hours=1)), "user_id": "u2"}
    theirs = me.post(url, json=meeting).json()  # booked for a colleague
    assert theirs["user_id"] == "u2"
    assert [b["id"] for b in me.get(url).json()] == sorted([mine["id"], theirs["id"]])

    assert [(e["id"], e["kind"], e["status"]) for e in calendar(me)] == [(mine["id"], "booking", "open")]
    assert [e["id"] for e in calendar(colleague)] == [theirs["id"]]
    assert [(t["kind"], t["id"]) for t in todo(me)] == [("booking", mine["id"])]
    assert [(t["kind"], t["id"]) for t in todo(colleague)] == [("booking", theirs["id"])]

    moved = me.patch(f"{url}/{mine['id']}", json={"start": iso(start + timedelta(days=1))}).json()
    assert moved["sequence"] == 1
    done = me.patch(f"{url}/{mine['id']}", json={"status": "done"}).json()
    assert (done["status"], done["sequence"]) == ("done", 2)
    assert todo(me) == []  # done: off the to-do list, still in the calendar
    assert [(e["id"], e["status"]) for e in calendar(me)] == [(mine["id"], "done")]
    cancelled = me.patch(f"{url}/{mine['id']}", json={"status": "cancelled"}).json()
    assert [(e["id"], e["status"], e["sequence"]) for e in calendar(me)] == [(mine["id"], "cancelled", 3)]
    assert cancelled["sequence"] == 3

    # The colleague's open booking falls due: the reminder sweep reminds them.
    sweep(stack, start + timedelta(minutes=1))
    reminders = payloads(stack, tenant, "reminder.due", 1)
    assert [(r["user_id"], r["source"], r["source_id"], r["contact_order_id"]) for r in reminders] == [
        ("u2", "booking", theirs["id"], order["id"])
    ]

    # Given to a third colleague: it leaves u2's calendar (their feed cancels it) and shows in u3's.
    feed_path = colleague.post("/calendar-feeds").json()["path"]
    uid = f"booking-{theirs['id']}@kontakt"
    assert str(feed(api, feed_path)[uid]["STATUS"]) == "CONFIRMED"
    later = {"start": iso(start + timedelta(days=2)), "end": iso(start + timedelta(days=2, hours=1))}
    handed = me.patch(f"{url}/{theirs['id']}", json={"user_id": "u3", **later})
    assert handed.status_code == 200, handed.text
    assert calendar(colleague) == []
    assert str(feed(api, feed_path)[uid]["STATUS"]) == "CANCELLED"
    assert [(e["id"], e["status"]) for e in calendar(third)] == [(theirs["id"], "open")]
    assert [t["id"] for t in todo(third)] == [theirs["id"]]

    # A subject change reaches the bookings (the calendar shows the order's subject).
    me.patch(f"/contact-orders/{order['id']}", json={"subject": "Offer, second round"})
    assert [e["subject"] for e in calendar(third)] == ["Offer, second round"]

    # Closing the order cancels its open bookings: off the to-do list, cancelled in the calendar.
    me.post(f"/contact-orders/{order['id']}/close")
    assert todo(third) == []
    assert [(e["id"], e["status"]) for e in calendar(third)] == [(theirs["id"], "cancelled")]
    assert_problem(me.post(url, json={"channel": "phone", "start": iso(start)}), 409)


# ----------------------------------------------------------------------------- assignment, close, convert


def test_assigned_colleagues_are_notified_and_see_it_in_their_todo_list(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me, colleague = api.as_(tenant, "u1", "user"), api.as_(tenant, "u2", "user")
    order = create(me, assignee_ids=["u2", "u1"], planned_date="2026-12-01")
    assert order["assignee_ids"] == ["u2", "u1"]
    assert [(t["kind"], t["id"], t["due"]) for t in todo(colleague)] == [
        ("contact_order", order["id"], "2026-12-01T00:00:00Z")
    ]
    again = me.put(f"/contact-orders/{order['id']}/assignees", json={"assignee_ids": ["u2", "u3"]})
    assert again.status_code == 200, again.text
    assigned = payloads(stack, tenant, "contact_order.assigned", 2)
    assert [(a["id"], a["assignee_ids"], a["assigned_by"]) for a in assigned] == [
        (order["id"], ["u2"], "u1"),  # not the caller who assigned themselves
        (order["id"], ["u3"], "u1"),  # only the newly assigned
    ]
    assert [t["id"] for t in todo(me)] == []
    closed = me.post(f"/contact-orders/{order['id']}/close").json()
    assert closed["closed"] and closed["closed_by"] == "u1"
    assert me.post(f"/contact-orders/{order['id']}/close").json()["version"] == closed["version"]  # once
    assert todo(colleague) == []  # an archived order leaves the to-do lists
    assert colleague.get(f"/contact-orders/{order['id']}").json()["closed"] is True  # but stays readable
    assert_problem(me.patch(f"/contact-orders/{order['id']}", json={"subject": "x"}), 409)
    assert_problem(me.post(f"/contact-orders/{order['id']}/notes", json={"text": "x"}), 409)
    assert [e["id"] for e in payloads(stack, tenant, "contact_order.closed", 1)] == [order["id"]]


def test_convert_to_a_sales_order_once(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    order = create(me, facility_name="Plant", service_object="Boiler", hours_spent=2, planned_date="2026-12-01")
    me.post(f"/contact-orders/{order['id']}/notes", json={"text": "Wants two boilers."})
    converted = me.post(f"/contact-orders/{order['id']}/convert")
    assert converted.status_code == 200, converted.text
    result = converted.json()
    assert result["sales_order_id"] == derived_id(order["id"], "sales_order")
    assert result["order"]["converted_by"] == "u1" and result["order"]["converted_at"]
    assert_problem(me.post(f"/contact-orders/{order['id']}/convert"), 409)
    [event] = payloads(stack, tenant, "contact_order.converted", 1)
    assert event["sales_order_id"] == result["sales_order_id"]
    assert (event["account_id"], event["facility"], event["service_object"]) == ("ACC1", "Plant", "Boiler")
    assert (event["hours_spent"], event["planned_date"], event["notes"]) == (2, "2026-12-01", ["Wants two boilers."])


# ----------------------------------------------------------------------------- files


def test_uploaded_documents(api: Any) -> None:
    tenant = new_tenant()
    me, admin = api.as_(tenant, "u1", "user"), api.as_(tenant, "admin-1", "admin")
    order = create(me)
    url = f"/contact-orders/{order['id']}/files"
    too_big = {"name": "big.bin", "size": 25 * 1024 * 1024 + 1}
    assert_problem(me.post(url, json=too_big), 422, "size")
    started = me.post(url, json={"name": "offer.pdf", "content_type": "application/pdf", "size": 11})
    assert started.status_code == 201, started.text
    upload = started.json()
    file_id = upload["attachment"]["id"]
    assert_problem(me.post(f"{url}/{file_id}/complete"), 409)  # nothing uploaded yet
    upload_file(upload, "offer.pdf", b"%PDF-offer")
    done = me.post(f"{url}/{file_id}/complete").json()
    assert (done["status"], done["size"]) == ("uploaded", 10)
    link = me.get(f"{url}/{file_id}").json()["url"]
    assert requests.get(link, timeout=30).content == b"%PDF-offer"
    assert_problem(me.delete(f"{url}/{file_id}"), 403)  # users lack "delete_files" by default
    assert admin.delete(f"{url}/{file_id}").status_code == 204
    assert me.get(f"/contact-orders/{order['id']}").json()["attachments"] == []
    assert_problem(me.get(f"{url}/{file_id}"), 404)


# ----------------------------------------------------------------------------- lists and favourites


def test_the_list_sorts_by_planned_date_or_number_with_closed_last(api: Any) -> None:
    tenant = new_tenant()
    me, admin = api.as_(tenant, "u1", "user"), api.as_(tenant, "admin-1", "admin")
    march = create(me, planned_date="2026-03-01", account_id="ACC1")
    january = create(me, planned_date="2026-01-01", account_id="ACC2")
    undated = create(me, account_id="ACC1", status="waiting")
    february = create(me, planned_date="2026-02-01", account_id="ACC1", assignee_ids=["u2"], facility_name="Plant")
    me.post(f"/contact-orders/{january['id']}/close")

    assert ids(walk(me, "/contact-orders", limit=1)) == ids([february, march, undated, january])
    admin.patch("/contact-orders/settings", json={"sort_by": "number"})
    assert ids(walk(me, "/contact-orders", limit=2)) == ids([march, undated, february, january])
    admin.patch("/contact-orders/settings", json={"sort_by": "planned_date"})

    def listed(**params: Any) -> list[str]:
        return ids(walk(me, "/contact-orders", limit=50, **params))

    assert listed(account_id="ACC1") == ids([february, march, undated])
    assert listed(status="waiting") == [undated["id"]]
    assert listed(assignee_id="u2") == [february["id"]]
    assert listed(facility_id=february["facility_id"]) == [february["id"]]
    assert listed(closed="true") == [january["id"]]
    assert listed(closed="false") == ids([february, march, undated])
    assert listed(planned_from="2026-01-15", planned_to="2026-03-01") == ids([february, march])
    assert_problem(me.get("/contact-orders", params={"closed": "maybe"}), 422, "query.closed")

    # Favourites: saved filters, per user.
    saved = me.post("/contact-orders/favourites", json={"name": "ACC1 open", "filters": {"account_id": "ACC1"}})
    assert saved.status_code == 201, saved.text
    favourite = saved.json()
    assert_problem(me.post("/contact-orders/favourites", json={"name": "x", "filters": {"colour": "red"}}), 422)
    assert ids(me.get("/contact-orders/favourites").json()) == [favourite["id"]]
    assert listed(favourite_id=favourite["id"]) == ids([february, march, undated])
    other = api.as_(tenant, "u2", "user")
    assert other.get("/contact-orders/favourites").json() == []
    assert_problem(other.get("/contact-orders", params={"favourite_id": favourite["id"]}), 404)
    assert_problem(other.delete(f"/contact-orders/favourites/{favourite['id']}"), 404)
    assert me.delete(f"/contact-orders/favourites/{favourite['id']}").status_code == 204
    assert me.get("/contact-orders/favourites").json() == []


# ----------------------------------------------------------------------------- permissions and tenants


def test_each_permission_is_enforced(api: Any) -> None:
    tenant = new_tenant()
    admin, manager = api.as_(tenant, "admin-1", "admin"), api.as_(tenant, "m1", "manager")
    user = api.as_(tenant, "u1", "user")
    assert admin.get("/contact-orders/settings").json()["permissions"]["admin"] == ALL
    theirs = create(manager, assignee_ids=["u1"])
    other = create(manager)

    # view only assigned: only what they own or are assigned to; the rest is 404.
    set_permissions(admin, user=["view_assigned", "edit", "create"])
    assert ids(walk(user, "/contact-orders", limit=50)) == [theirs["id"]]
    assert_problem(user.get(f"/contact-orders/{other['id']}"), 404)
    assert_problem(user.patch(f"/contact-orders/{other['id']}", json={"subject": "x"}), 404)
    own = create(user)
    assert ids(walk(user, "/contact-orders", limit=50)) == ids([theirs, own])
    assert user.patch(f"/contact-orders/{theirs['id']}", json={"subject": "Edited"}).status_code == 200
    assert_problem(user.delete(f"/contact-orders/{theirs['id']}"), 403)  # delete
    assert_problem(user.put(f"/contact-orders/{own['id']}/assignees", json={"assignee_ids": ["u1"]}), 403)  # self
    assert_problem(user.put(f"/contact-orders/{own['id']}/assignees", json={"assignee_ids": ["u9"]}), 403)  # assign
    booking = {"channel": "phone", "start": iso(NOW + timedelta(days=1)), "user_id": "u9"}
    assert_problem(user.post(f"/contact-orders/{own['id']}/bookings", json=booking), 403)  # booking a colleague

    # view + assign self, no edit, no create.
    set_permissions(admin, user=["view", "assign_self"])
    assert ids(walk(user, "/contact-orders", limit=50)) == ids([theirs, other, own])
    assert_problem(user.post("/contact-orders", json={"subject": "S", "account_id": "A"}), 403)  # create
    assert_problem(user.patch(f"/contact-orders/{other['id']}", json={"subject": "x"}), 403)  # edit
    assert_problem(user.post(f"/contact-orders/{other['id']}/notes", json={"text": "x"}), 403)
    assert_problem(user.post(f"/contact-orders/{other['id']}/close"), 403)
    mine = user.put(f"/contact-orders/{other['id']}/assignees", json={"assignee_ids": ["u1"]})
    assert mine.status_code == 200 and mine.json()["assignee_ids"] == ["u1"]
    assert_problem(user.put(f"/contact-orders/{other['id']}/assignees", json={"assignee_ids": ["u1", "u2"]}), 403)

    # Assign (others) and delete, given to users.
    set_permissions(admin, user=["view", "assign", "delete"])
    assigned = user.put(f"/contact-orders/{other['id']}/assignees", json={"assignee_ids": ["u2"]})
    assert assigned.status_code == 200 and assigned.json()["assignee_ids"] == ["u2"]
    assert user.delete(f"/contact-orders/{own['id']}").status_code == 204

    # No view permission at all.
    set_permissions(admin, user=[])
    assert_problem(user.get("/contact-orders"), 403)
    assert_problem(user.get(f"/contact-orders/{theirs['id']}"), 403)
    assert_problem(user.get("/contact-orders/favourites"), 403)
    assert manager.get(f"/contact-orders/{theirs['id']}").status_code == 200  # other roles keep theirs
    bad = admin.patch("/contact-orders/settings", json={"permissions": {"user": ["fly"]}})
    assert_problem(bad, 422)


def test_tenants_do_not_see_each_others_orders(api: Any) -> None:
    order = create(api.as_(new_tenant(), "u1", "admin"))
    stranger = api.as_(new_tenant(), "u1", "admin")
    for path in ("", "/notes", "/bookings"):
        assert_problem(stranger.get(f"/contact-orders/{order['id']}{path}"), 404)
    assert_problem(stranger.patch(f"/contact-orders/{order['id']}", json={"subject": "x"}), 404)
    assert_problem(stranger.delete(f"/contact-orders/{order['id']}"), 404)
    assert stranger.get("/contact-orders").json()["items"] == []


# ----------------------------------------------------------------------------- erasure


def test_an_erased_contact_person_leaves_the_orders_and_their_bookings(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "a1", "admin")
    person = admin.post("/contacts", json={"first_name": "Maija", "last_name": "Erased"}).json()["id"]
    order = create(admin, contact_id=person)
    other = create(admin, contact_id="CON-KEPT")
    booking = admin.post(
        f"/contact-orders/{order['id']}/bookings", json={"channel": "phone", "start": iso(NOW + timedelta(days=2))}
    )
    assert booking.status_code == 201, booking.text
    closed = create(admin, contact_id=person)
    assert admin.post(f"/contact-orders/{closed['id']}/close").status_code == 200

    assert admin.post(f"/contacts/{person}/erase").status_code == 200
    erased = {
        "id": "E-" + tenant,
        "type": "contact.erased",
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": iso(NOW),
        "actor": {"type": "user", "id": "a1"},
        "correlation_id": "E-" + tenant,
        "data": {"id": person},
    }
    put_envelope(stack, erased)  # a second delivery (under another id) changes nothing more

    def forgotten() -> bool:
        orders = [admin.get(f"/contact-orders/{i}").json() for i in (order["id"], closed["id"])]
        return all(o["contact_id"] is None for o in orders)

    assert settle(stack, forgotten)
    bookings = admin.get(f"/contact-orders/{order['id']}/bookings").json()
    assert [b["contact_id"] for b in bookings] == [None]
    assert admin.get(f"/contact-orders/{other['id']}").json()["contact_id"] == "CON-KEPT"
    listed = admin.get("/contact-orders", params={"contact_id": person}).json()["items"]
    assert listed == []
