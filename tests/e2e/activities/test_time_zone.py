"""The tenant's time zone: its weeks, months and days in goal reports, sales targets and marketing statistics."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.helpers import assert_problem, created, known_users, new_tenant, ok

HELSINKI = "Europe/Helsinki"
FAR_EAST, FAR_WEST = "Pacific/Kiritimati", "Etc/GMT+12"  # UTC+14 and UTC-12: another day for most of it
AROUND = {"from": "2030-01-07", "to": "2030-01-20"}  # 2030-W02 and 2030-W03


def set_zone(admin: Any, zone: str) -> None:
    assert ok(admin.put("/activity-settings", json={"time_zone": zone})) == {"time_zone": zone}


def _event(type_: str, start: str, **extra: Any) -> dict[str, Any]:
    end = start.replace("T09:", "T10:")
    return {"type": type_, "subject": "Call the customer", "start": start, "end": end, **extra}


def week_of(day: date) -> tuple[str, str]:
    year, week, weekday = day.isocalendar()
    return f"{year}-W{week:02d}", str(day - timedelta(days=weekday - 1))


def test_admins_set_the_zone_everyone_reads_it(api: Any) -> None:
    tenant = new_tenant()
    admin, user = api.as_(tenant, "admin-1", "admin"), api.as_(tenant, "u1", "user")
    assert ok(user.get("/activity-settings")) == {"time_zone": "UTC"}
    assert_problem(user.put("/activity-settings", json={"time_zone": HELSINKI}), 403)
    assert_problem(admin.put("/activity-settings", json={"time_zone": "Nowhere/City"}), 422, "time_zone")
    assert_problem(admin.put("/activity-settings", json={"time_zone": 3}), 422, "time_zone")
    assert_problem(admin.put("/activity-settings", json={"time_zone": HELSINKI, "x": 1}), 422, "x")
    assert ok(user.get("/activity-settings")) == {"time_zone": "UTC"}  # nothing changed
    set_zone(admin, HELSINKI)
    assert ok(user.get("/activity-settings")) == {"time_zone": HELSINKI}
    other = api.as_(new_tenant(), "admin-1", "admin")
    assert ok(other.get("/activity-settings")) == {"time_zone": "UTC"}  # another tenant's own


def test_goal_reports_count_completions_in_the_tenants_local_week(api: Any) -> None:
    """A completion's time is the service's clock (now), so the zone is picked to put it on another local day.

    Near Monday 00:00 UTC (Sunday 10:00 to Monday 12:00 UTC) that is also another ISO week; the rule
    itself is unit-tested with fixed times, and sales targets below go through the same ranges with
    times the client sets.
    """
    tenant = new_tenant()
    admin, u1 = api.as_(tenant, "admin-1", "admin"), api.as_(tenant, "u1", "user")
    ok(admin.put("/point-rules", json={"rules": [{"type": "call", "points": 2}]}))
    call = created(u1.post("/activities", json=_event("call", "2030-01-10T09:00:00Z")))
    done = ok(u1.post(f"/activities/{call['id']}/complete"))
    at = datetime.fromisoformat(done["completed_at"].replace("Z", "+00:00"))

    for zone in (FAR_EAST if at.hour >= 10 else FAR_WEST, HELSINKI):
        set_zone(admin, zone)
        local = at.astimezone(ZoneInfo(zone)).date()
        assert zone == HELSINKI or local != at.date()
        week, monday = week_of(local)
        report = ok(u1.get("/goals/report", params={"from": str(local), "to": str(local)}))
        assert [(r["week"], r["start"], r["count"]["actual"], r["points"]["actual"]) for r in report["weeks"]] == [
            (week, monday, 1, 2)
        ], zone
        for other in (local - timedelta(days=7), local + timedelta(days=7)):
            around = ok(u1.get("/goals/report", params={"from": str(other), "to": str(other)}))
            assert around["total_count"]["actual"] == 0, (zone, other)


def test_sales_target_weeks_are_local(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    admin, manager, u1 = (
        api.as_(tenant, "admin-1", "admin"),
        api.as_(tenant, "m1", "manager"),
        api.as_(tenant, "u1", "user"),
    )
    known_users(stack, manager, "u1")
    settings = ok(admin.get("/crm/settings"))
    items = [{**c, "sales_target": c["code"] == "customer_visit"} for c in settings["categories"]]
    ok(admin.put("/crm/categories", json={"items": items}))
    target = {"category": "customer_visit", "period": "week", "count": 1}
    ok(manager.put("/sales-targets/u1", json={"targets": [target]}))
    set_zone(admin, HELSINKI)
    # Monday 14 Jan 00:30 in Helsinki (Sunday 22:30 UTC): W03 here.
    visit = {"type": "meeting", "subject": "Visit", "start": "2030-01-13T22:30:00Z", "end": "2030-01-13T23:30:00Z"}
    created(u1.post("/activities", json={**visit, "category": "customer_visit"}))

    def actuals() -> list[tuple[str, int]]:
        report = ok(u1.get("/sales-targets/u1/report", params=AROUND))
        return [(p["period"], p["actual"]) for p in report["categories"][0]["periods"]]

    assert actuals() == [("2030-W02", 0), ("2030-W03", 1)]
    set_zone(admin, "UTC")
    assert actuals() == [("2030-W02", 1), ("2030-W03", 0)]


def test_marketing_statistics_count_local_days(api: Any) -> None:
    tenant = new_tenant()
    admin, user = api.as_(tenant, "admin-1", "admin"), api.as_(tenant, "u1", "user")
    set_zone(admin, HELSINKI)
    late = {"contact_id": "C1", "type": "outgoing_call", "at": "2030-01-31T23:30:00+02:00"}  # 21:30 UTC
    early = {"contact_id": "C1", "type": "visit", "at": "2030-02-01T00:30:00+02:00"}  # 22:30 UTC on Jan 31st
    call = created(user.post("/marketing-activities", json=late))
    created(user.post("/marketing-activities", json=early))

    def counts(first: str, last: str, **params: Any) -> dict[str, int]:
        stats = ok(user.get("/marketing-activities/stats", params={"from": first, "to": last, **params}))
        assert stats["from"] == first and stats["to"] == last
        counted: dict[str, int] = stats["counts"]
        return counted

    for by in ({"group_by": "type"}, {"group_by": "user"}, {"group_by": "contact"}, {"contact_id": "C1"}):
        assert counts("2030-01-01", "2030-01-31", **by) == {"outgoing_call": 1}, by
        assert counts("2030-02-01", "2030-02-28", **by) == {"visit": 1}, by
        assert counts("2030-01-31", "2030-01-31", **by) == {"outgoing_call": 1}, by

    # After a zone change the counts keep the day they were counted on; a deletion takes from that very day.
    set_zone(admin, "UTC")
    assert counts("2030-01-01", "2030-01-31") == {"outgoing_call": 1}
    assert counts("2030-01-01", "2030-01-31", contact_id="C1") == {"outgoing_call": 1, "visit": 1}  # read anew
    assert user.delete(f"/marketing-activities/{call['id']}").status_code == 204
    set_zone(admin, HELSINKI)
    assert counts("2030-01-01", "2030-01-31") == {}
    assert counts("2030-01-01", "2030-01-31", group_by="user") == {}
    assert counts("2030-02-01", "2030-02-28") == {"visit": 1}
