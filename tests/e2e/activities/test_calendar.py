"""The calendar through the gateway: the JSON view and the secret iCalendar feed a client subscribes to."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar
from ulid import ULID

from tests.e2e.helpers import assert_problem, new_tenant, walk

# Contact and account ids the directory has not announced: new ULIDs, taken on trust (an activity
# may name a record made just now: tests/e2e/activities/test_activity_references.py).
A1, C1 = str(ULID()), str(ULID())
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=10)


def at(hours: float) -> str:
    return (BASE + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def event(client: Any, subject: str, start: float, **extra: Any) -> dict[str, Any]:
    body = {"type": "meeting", "subject": subject, "start": at(start), "end": at(start + 1), **extra}
    response = client.post("/activities", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def vevents(text: str) -> dict[str, Any]:
    return {str(e["UID"]): e for e in Calendar.from_ical(text).walk("VEVENT")}


def feed(api: Any, path: str) -> dict[str, Any]:
    """The feed as a subscribing client reads it: no token, text/calendar."""
    response = api.anonymous().get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return vevents(response.text)


# ----------------------------------------------------------------------------- JSON view


def test_the_calendar_lists_a_users_events_in_a_range_by_start(api: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    late = event(me, "Late", 30)
    early = event(me, "Early", 2, location="Room 1", account_id=A1)
    event(me, "Outside", 24 * 40)
    me.post("/activities", json={"type": "task", "subject": "A task", "due": at(3)})
    event(api.as_(tenant, "u2", "user"), "Someone else's", 5)

    params = {"from": at(0), "to": at(48)}
    items = walk(me, "/calendar", limit=1, **params)
    assert [(i["kind"], i["id"], i["subject"]) for i in items] == [
        ("event", early["id"], "Early"),
        ("event", late["id"], "Late"),
    ]
    first = items[0]
    assert first["location"] == "Room 1" and first["user_id"] == "u1" and first["status"] == "open"
    assert first["links"] == {
        "activity_id": early["id"],
        "account_id": A1,
        "contact_id": None,
        "contact_order_id": None,
        "order_number": None,
    }
    assert [i["id"] for i in me.get("/calendar", params={"from": at(2), "to": at(30)}).json()["items"]] == [
        early["id"]
    ]  # from inclusive, to exclusive

    manager = api.as_(tenant, "m1", "manager")
    theirs = manager.get("/calendar", params={**params, "user_id": "u2"}).json()["items"]
    assert [i["subject"] for i in theirs] == ["Someone else's"]
    assert_problem(me.get("/calendar", params={**params, "user_id": "u2"}), 403)


def test_bad_ranges_are_refused_naming_the_parameter(api: Any) -> None:
    me = api.as_(new_tenant(), "u1", "user")
    assert_problem(me.get("/calendar", params={"to": at(1)}), 422, "query.from")
    assert_problem(me.get("/calendar", params={"from": at(1), "to": at(0)}), 422, "query.to")
    assert_problem(me.get("/calendar", params={"from": at(0), "to": at(24 * 400)}), 422, "query.to")
    assert_problem(me.get("/calendar", params={"from": "2026-12-01T09:00:00", "to": at(1)}), 422, "query.from")
    assert_problem(me.get("/calendar", params={"from": at(0), "to": at(1), "cursor": "forged.cursor"}), 400)


def test_a_calendar_cursor_works_only_for_its_own_list(api: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    for hour in (1, 2, 3):
        event(me, f"E{hour}", hour)
    page = me.get("/calendar", params={"from": at(0), "to": at(10), "limit": 1}).json()
    assert page["next_cursor"]
    other_range = {"from": at(0), "to": at(11), "cursor": page["next_cursor"]}
    assert_problem(me.get("/calendar", params=other_range), 400, "query.cursor")
    stranger = api.as_(new_tenant(), "u1", "user")
    same = {"from": at(0), "to": at(10), "cursor": page["next_cursor"]}
    assert_problem(stranger.get("/calendar", params=same), 400, "query.cursor")


# ----------------------------------------------------------------------------- feed


def test_a_feed_url_serves_the_users_calendar_and_follows_changes(api: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    assert_problem(me.get("/calendar-feeds"), 404)
    created = me.post("/calendar-feeds")
    assert created.status_code == 201, created.text
    url = created.json()
    assert url["path"].startswith("/calendar/") and url["path"].endswith(".ics")
    assert url["url"].endswith(url["path"])
    assert me.get("/calendar-feeds").json() == url

    meeting = event(me, "Review, budget; Q1", 2, description="Line one\nLine two", location="Room 1")
    task = me.post("/activities", json={"type": "task", "subject": "A task", "due": at(3)}).json()
    event(api.as_(tenant, "u2", "user"), "Someone else's", 5)
    response = api.anonymous().get(url["path"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert b"\r\n" in response.content and b"\n" not in response.content.replace(b"\r\n", b"")
    calendar = Calendar.from_ical(response.text)
    assert (str(calendar["METHOD"]), str(calendar["VERSION"])) == ("PUBLISH", "2.0")
    assert calendar["X-WR-CALNAME"] and calendar["PRODID"]
    items = vevents(response.text)
    uid = f"event-{meeting['id']}@kontakt"
    assert list(items) == [uid]  # the task and the colleague's event are not in it
    assert task["id"] not in response.text
    first = items[uid]
    assert str(first["SUMMARY"]) == "Review, budget; Q1"
    assert str(first["DESCRIPTION"]) == "Line one\nLine two"
    assert first.decoded("DTSTART") == BASE + timedelta(hours=2)
    assert first.decoded("DTSTAMP").tzinfo is not None
    assert (int(first["SEQUENCE"]), str(first["STATUS"])) == (meeting["sequence"], "CONFIRMED")

    moved = me.patch(f"/activities/{meeting['id']}", json={"start": at(4), "end": at(5)}).json()
    second = feed(api, url["path"])[uid]
    assert int(second["SEQUENCE"]) == moved["sequence"] > int(first["SEQUENCE"])
    assert second.decoded("DTSTART") == BASE + timedelta(hours=4)

    assert me.delete(f"/activities/{meeting['id']}").status_code == 204
    cancelled = feed(api, url["path"])[uid]  # still there, cancelled, so that subscribers drop it
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(second["SEQUENCE"])
    listed = me.get("/calendar", params={"from": at(0), "to": at(48)}).json()["items"]
    assert listed == []  # the JSON view shows only what exists


def test_an_event_given_to_a_colleague_is_cancelled_in_the_old_calendar_only(api: Any) -> None:
    tenant = new_tenant()
    manager = api.as_(tenant, "m1", "manager")
    colleague = api.as_(tenant, "u2", "user")
    mine = manager.post("/calendar-feeds").json()["path"]
    theirs = colleague.post("/calendar-feeds").json()["path"]
    meeting = event(manager, "Handover", 6)
    uid = f"event-{meeting['id']}@kontakt"

    given = manager.patch(f"/activities/{meeting['id']}", json={"owner_id": "u2"}).json()
    old = feed(api, mine)[uid]
    new = feed(api, theirs)[uid]
    assert str(old["STATUS"]) == "CANCELLED" and int(old["SEQUENCE"]) > meeting["sequence"]
    assert (str(new["STATUS"]), int(new["SEQUENCE"])) == ("CONFIRMED", given["sequence"])

    back = manager.patch(f"/activities/{meeting['id']}", json={"owner_id": "m1"}).json()
    again = feed(api, mine)[uid]  # the live event wins over the tombstone left before
    assert (str(again["STATUS"]), int(again["SEQUENCE"])) == ("CONFIRMED", back["sequence"])
    assert str(feed(api, theirs)[uid]["STATUS"]) == "CANCELLED"

    call = event(manager, "Becomes a task", 8)
    changed = manager.patch(
        f"/activities/{call['id']}", json={"type": "task", "due": at(8), "start": None, "end": None}
    )
    assert changed.status_code == 200, changed.text
    gone = feed(api, mine)[f"event-{call['id']}@kontakt"]  # a task takes no calendar time
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) > call["sequence"]


def test_an_all_day_event_is_published_as_dates(api: Any) -> None:
    tenant = new_tenant()
    me = api.as_(tenant, "u1", "user")
    zone = "Europe/Helsinki"  # times are kept in UTC: the dates are the tenant zone's
    assert api.as_(tenant, "admin-1", "admin").put("/activity-settings", json={"time_zone": zone}).status_code == 200
    path = me.post("/calendar-feeds").json()["path"]
    day = BASE.date()
    body = {
        "type": "meeting",
        "subject": "Trade fair",
        "all_day": True,
        "start": datetime.combine(day, time(0), ZoneInfo(zone)).isoformat(),  # 22:00 or 21:00 UTC the day before
        "end": datetime.combine(day, time(23, 59), ZoneInfo(zone)).isoformat(),
    }
    created = me.post("/activities", json=body).json()
    text = api.anonymous().get(path).text
    assert f"DTSTART;VALUE=DATE:{day.strftime('%Y%m%d')}\r\n" in text
    assert f"DTEND;VALUE=DATE:{(day + timedelta(days=1)).strftime('%Y%m%d')}\r\n" in text
    assert f"event-{created['id']}@kontakt" in vevents(text)


def test_rotating_or_revoking_a_feed_kills_the_old_url(api: Any) -> None:
    me = api.as_(new_tenant(), "u1", "user")
    event(me, "Private", 1)
    first = me.post("/calendar-feeds").json()["path"]
    assert api.anonymous().get(first).status_code == 200
    second = me.post("/calendar-feeds").json()["path"]
    assert second != first
    assert_problem(api.anonymous().get(first), 404)
    assert len(feed(api, second)) == 1
    assert me.get("/calendar-feeds").json()["path"] == second

    token = second.removeprefix("/calendar/").removesuffix(".ics")
    feed_id, mac = token.split(".")
    assert_problem(api.anonymous().get(f"/calendar/{feed_id}.{mac[::-1]}.ics"), 404)
    assert_problem(api.anonymous().get("/calendar/not-a-token.ics"), 404)

    assert me.delete("/calendar-feeds").status_code == 204
    assert_problem(api.anonymous().get(second), 404)
    assert_problem(me.get("/calendar-feeds"), 404)
    assert me.delete("/calendar-feeds").status_code == 204  # revoking twice changes nothing


def test_feeds_are_per_user_and_tenant(api: Any) -> None:
    tenant, other_tenant = new_tenant(), new_tenant()
    me = api.as_(tenant, "u1", "user")
    namesake = api.as_(other_tenant, "u1", "user")  # the same user id in another tenant
    event(me, "Mine", 1)
    event(namesake, "Theirs", 1)
    mine = me.post("/calendar-feeds").json()["path"]
    theirs = namesake.post("/calendar-feeds").json()["path"]
    assert mine != theirs
    assert [str(e["SUMMARY"]) for e in feed(api, mine).values()] == ["Mine"]
    assert [str(e["SUMMARY"]) for e in feed(api, theirs).values()] == ["Theirs"]
    assert namesake.delete("/calendar-feeds").status_code == 204
    assert len(feed(api, mine)) == 1  # another tenant's revocation does not touch mine
    assert api.anonymous().get("/calendar-feeds").status_code == 401


def test_bookings_show_in_the_calendar_and_a_cancelled_one_cancels_in_the_feed(api: Any) -> None:
    me = api.as_(new_tenant(), "u1", "user")
    path = me.post("/calendar-feeds").json()["path"]
    order = me.post("/contact-orders", json={"subject": "Offer follow-up", "account_id": "A1"})
    assert order.status_code == 201, order.text
    bookings = f"/contact-orders/{order.json()['id']}/bookings"
    body = {"channel": "meeting", "start": at(3), "end": at(4), "note": "Bring the price list"}
    booked = me.post(bookings, json=body)
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    meeting = event(me, "Internal", 1)

    listed = me.get("/calendar", params={"from": at(0), "to": at(48)}).json()["items"]
    assert [(i["kind"], i["id"]) for i in listed] == [("event", meeting["id"]), ("booking", booking["id"])]
    entry = listed[1]
    assert (entry["subject"], entry["channel"], entry["status"]) == ("Offer follow-up", "meeting", "open")
    assert entry["links"]["contact_order_id"] == order.json()["id"]

    uid = f"booking-{booking['id']}@kontakt"
    published = feed(api, path)[uid]
    assert str(published["STATUS"]) == "CONFIRMED" and int(published["SEQUENCE"]) == booking["sequence"]
    assert str(published["SUMMARY"]) == "Offer follow-up"
    assert "Bring the price list" in str(published["DESCRIPTION"])
    assert published.decoded("DTEND") == BASE + timedelta(hours=4)

    cancelled = me.patch(f"{bookings}/{booking['id']}", json={"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    gone = feed(api, path)[uid]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) > int(published["SEQUENCE"])
