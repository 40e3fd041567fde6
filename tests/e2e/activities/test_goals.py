"""Activity points, goals and their report, sales targets and the seller's view, through the gateway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.ids import new_id
from tests.e2e.helpers import assert_problem, created, known_users, new_tenant, ok, put_envelope, settle

TODAY = datetime.now(UTC).date()
AROUND_TODAY = {"from": str(TODAY - timedelta(days=8)), "to": str(TODAY + timedelta(days=8))}


def event(type_: str = "call", start: str = "2030-03-05T09:00:00Z", **extra: Any) -> dict[str, Any]:
    end = (datetime.fromisoformat(start.replace("Z", "+00:00")) + timedelta(hours=1)).isoformat()
    return {"type": type_, "subject": "Call the customer", "start": start, "end": end, **extra}


def totals(client: Any, **params: Any) -> tuple[int, int]:
    """(count, points) of completed activities around today in a goal report."""
    report = ok(client.get("/goals/report", params={**AROUND_TODAY, **params}))
    return report["total_count"]["actual"], report["total_points"]["actual"]


def week_row(report: dict[str, Any], week: str) -> dict[str, Any]:
    return next(r for r in report["weeks"] if r["week"] == week)


def iso_week(moment: str) -> str:
    year, week, _ = datetime.fromisoformat(moment.replace("Z", "+00:00")).date().isocalendar()
    return f"{year}-W{week:02d}"


@pytest.fixture
def tenant(api: Any, stack: Any) -> dict[str, Any]:
    """A tenant whose admin set point rules: call 2, call in a lead 5, meeting 3."""
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    rules = [
        {"type": "call", "points": 2},
        {"type": "call", "category": "lead", "points": 5},
        {"type": "meeting", "points": 3},
    ]
    assert ok(admin.put("/point-rules", json={"rules": rules}))["rules"] == [
        {**r, "category": r.get("category")} for r in rules
    ]
    clients = {
        "id": tenant,
        "admin": admin,
        "manager": api.as_(tenant, "m1", "manager"),
        "u1": api.as_(tenant, "u1", "user"),
        "u2": api.as_(tenant, "u2", "user"),
    }
    known_users(stack, clients["manager"], "u1", "u2")
    return clients


# ----------------------------------------------------------------------------- point rules


def test_admins_edit_point_rules_that_name_existing_types_and_categories(api: Any) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    assert ok(admin.get("/point-rules")) == {"rules": []}
    user = api.as_(tenant, "u1", "user")
    assert_problem(user.put("/point-rules", json={"rules": []}), 403)
    assert_problem(admin.put("/point-rules", json={"rules": [{"type": "nope", "points": 1}]}), 422, "rules.0.type")
    unknown_category = admin.put("/point-rules", json={"rules": [{"type": "call", "category": "zz", "points": 1}]})
    assert_problem(unknown_category, 422, "rules.0.category")
    assert_problem(admin.put("/point-rules", json={"rules": [{"type": "call", "points": -1}]}), 422, "rules.0.points")
    twice = {"rules": [{"type": "call", "points": 1}, {"type": "call", "points": 2}]}
    assert_problem(admin.put("/point-rules", json=twice), 422, "rules")
    assert ok(user.get("/point-rules")) == {"rules": []}  # nothing changed
    assert ok(admin.put("/point-rules", json={"rules": [{"type": "call", "points": 4}]}))
    assert ok(user.get("/point-rules"))["rules"] == [{"type": "call", "category": None, "points": 4}]


# ----------------------------------------------------------------------------- points


def test_completing_credits_points_and_reopening_or_deleting_takes_them_back(tenant: dict[str, Any]) -> None:
    u1 = tenant["u1"]
    call = created(u1.post("/activities", json=event("call")))
    assert call["points"] == 0
    lead_call = created(u1.post("/activities", json=event("call", category="lead")))
    assert totals(u1) == (0, 0)  # open activities earn nothing

    done = ok(u1.post(f"/activities/{call['id']}/complete"))
    assert done["points"] == 2
    lead_done = ok(u1.post(f"/activities/{lead_call['id']}/complete"))
    assert lead_done["points"] == 5  # the (type, category) rule wins over the type's rule
    report = ok(u1.get("/goals/report", params=AROUND_TODAY))
    row = week_row(report, iso_week(done["completed_at"]))
    assert (row["count"]["actual"], row["points"]["actual"]) == (2, 7)
    assert (report["total_count"]["actual"], report["total_points"]["actual"]) == (2, 7)

    ok(u1.post(f"/activities/{call['id']}/complete"))  # completing again changes nothing
    assert totals(u1) == (2, 7)

    reopened = ok(u1.post(f"/activities/{call['id']}/reopen"))
    assert reopened["points"] == 0
    assert totals(u1) == (1, 5)

    assert u1.delete(f"/activities/{lead_call['id']}").status_code == 204
    assert totals(u1) == (0, 0)


def test_created_completed_earns_and_a_new_owner_or_type_moves_the_credit(tenant: dict[str, Any]) -> None:
    manager, u1, u2 = tenant["manager"], tenant["u1"], tenant["u2"]
    meeting = created(manager.post("/activities", json=event("meeting", owner_id="u1", status="completed")))
    assert meeting["points"] == 3
    assert totals(u1) == (1, 3) and totals(u2, user_id="u2") == (0, 0)

    moved = ok(manager.patch(f"/activities/{meeting['id']}", json={"owner_id": "u2"}))
    assert moved["points"] == 3
    assert totals(u1) == (0, 0) and totals(u2) == (1, 3)

    retyped = ok(manager.patch(f"/activities/{meeting['id']}", json={"type": "call"}))
    assert retyped["points"] == 2  # the new type's rule
    assert totals(u2) == (1, 2)
    recategorised = ok(manager.patch(f"/activities/{meeting['id']}", json={"category": "lead"}))
    assert recategorised["points"] == 5
    renamed = ok(manager.patch(f"/activities/{meeting['id']}", json={"subject": "Renamed"}))
    assert renamed["points"] == 5
    assert totals(u2) == (1, 5)


def test_points_stay_in_their_tenant(api: Any, tenant: dict[str, Any]) -> None:
    created(tenant["u1"].post("/activities", json=event("call", status="completed")))
    assert totals(tenant["u1"]) == (1, 2)
    stranger = api.as_(new_tenant(), "u1", "user")
    assert totals(stranger) == (0, 0)


# ----------------------------------------------------------------------------- goals


def test_a_quarters_goal_overrides_the_years_and_users_read_only_their_own(tenant: dict[str, Any]) -> None:
    manager, u1 = tenant["manager"], tenant["u1"]
    body = {"count": {"weekly": 3, "quarters": {"2": 7}}, "points": {"weekly": 10}}
    assert_problem(u1.put("/goals/u1/2030", json=body), 403)
    bad_quarter = {"count": {"quarters": {"5": 1}}}
    assert_problem(manager.put("/goals/u1/2030", json=bad_quarter), 422, "count.quarters.5.[key]")
    assert_problem(manager.put("/goals/u1/2030", json={"count": {"weekly": -1}}), 422, "count.weekly")
    assert_problem(manager.put("/goals/u1/1999", json=body), 422)
    assert u1.get("/goals/u1/2030").status_code == 404

    goals = ok(manager.put("/goals/u1/2030", json=body))
    assert goals["count"] == {"weekly": 3, "quarters": {"2": 7}} and goals["updated_by"] == "m1"
    assert ok(u1.get("/goals/u1/2030"))["points"]["weekly"] == 10
    assert_problem(u1.get("/goals/u2/2030"), 403)
    assert_problem(u1.get("/goals/report", params={"user_id": "u2", "from": "2030-01-01", "to": "2030-01-02"}), 403)

    # 2030-W13 (Mon 25 Mar) is in Q1, 2030-W14 (Thursday 4 Apr) in Q2
    report = ok(u1.get("/goals/report", params={"from": "2030-03-27", "to": "2030-04-01"}))
    assert [(w["week"], w["count"]["goal"], w["points"]["goal"]) for w in report["weeks"]] == [
        ("2030-W13", 3, 10),
        ("2030-W14", 7, 10),
    ]
    assert report["total_count"] == {"goal": 10, "actual": 0}
    assert report["weeks"][0]["start"] == "2030-03-25" and report["weeks"][0]["end"] == "2030-03-31"

    assert_problem(u1.get("/goals/report", params={"from": "2030-04-01", "to": "2030-03-01"}), 422, "to")
    assert_problem(u1.get("/goals/report", params={"from": "2030-01-01", "to": "2033-01-01"}), 422, "to")

    assert manager.delete("/goals/u1/2030").status_code == 204
    after = ok(u1.get("/goals/report", params={"from": "2030-03-27", "to": "2030-04-01"}))
    assert [w["count"]["goal"] for w in after["weeks"]] == [None, None]


def test_goals_beside_this_weeks_actuals(tenant: dict[str, Any]) -> None:
    manager, u1 = tenant["manager"], tenant["u1"]
    done = created(u1.post("/activities", json=event("call", status="completed")))
    year = int(iso_week(done["completed_at"])[:4])
    ok(manager.put(f"/goals/u1/{year}", json={"count": {"weekly": 4}, "points": {"weekly": 20}}))
    report = ok(manager.get("/goals/report", params={"user_id": "u1", **AROUND_TODAY}))
    row = week_row(report, iso_week(done["completed_at"]))
    assert row["count"] == {"goal": 4, "actual": 1} and row["points"] == {"goal": 20, "actual": 2}


# ----------------------------------------------------------------------------- groups


def group_event(tenant: str, type_: str, group_id: str, members: list[str], at: datetime) -> dict[str, Any]:
    event_id = new_id()
    return {
        "id": event_id,
        "type": type_,
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": at.isoformat(),
        "actor": {"type": "service", "id": "directory"},
        "correlation_id": "corr-" + event_id,
        "data": {"id": group_id, "name": "Sales north", "member_ids": members},
    }


def test_a_group_report_sums_its_members_goals_and_actuals(stack: Any, tenant: dict[str, Any]) -> None:
    manager, u1, u2 = tenant["manager"], tenant["u1"], tenant["u2"]
    t0 = datetime.now(UTC)
    group = "g" + new_id()
    report_of = {"group_id": group, **AROUND_TODAY}
    first = group_event(tenant["id"], "group.created", group, ["u1", "u2"], t0)
    put_envelope(stack, first)
    put_envelope(stack, first)  # delivered twice

    def members() -> list[str] | None:
        response = manager.get("/goals/report", params=report_of)
        return response.json()["member_ids"] if response.status_code == 200 else None

    assert settle(stack, members) == ["u1", "u2"]
    assert_problem(u1.get("/goals/report", params=report_of), 403)

    done = created(u1.post("/activities", json=event("call", status="completed")))
    created(u2.post("/activities", json=event("meeting", status="completed")))
    created(u2.post("/activities", json=event("call", category="lead", status="completed")))
    year = int(iso_week(done["completed_at"])[:4])
    ok(manager.put(f"/goals/u1/{year}", json={"count": {"weekly": 2}}))
    ok(manager.put(f"/goals/u2/{year}", json={"count": {"weekly": 3}, "points": {"weekly": 9}}))
    report = ok(manager.get("/goals/report", params=report_of))
    row = week_row(report, iso_week(done["completed_at"]))
    assert row["count"] == {"goal": 5, "actual": 3} and row["points"] == {"goal": 9, "actual": 10}
    assert report["group_id"] == group and report["user_id"] is None

    put_envelope(stack, group_event(tenant["id"], "group.updated", group, ["u2"], t0 + timedelta(seconds=1)))
    assert settle(stack, lambda: members() == ["u2"])
    put_envelope(stack, first)  # a redelivery of the older event changes nothing
    stale = group_event(tenant["id"], "group.updated", group, ["u1"], t0 - timedelta(seconds=5))
    put_envelope(stack, stale)  # an older state arriving late is ignored
    stack.drain()
    stack.drain()
    assert members() == ["u2"]
    assert totals(manager, group_id=group) == (2, 8)

    put_envelope(stack, group_event(tenant["id"], "group.deleted", group, [], t0 + timedelta(seconds=2)))
    assert settle(stack, lambda: manager.get("/goals/report", params=report_of).status_code == 404)
    assert_problem(manager.get("/goals/report", params={**report_of, "user_id": "u1"}), 422, "group_id")


# ----------------------------------------------------------------------------- sales targets


def with_sales_target(admin: Any, code: str = "customer_visit") -> None:
    settings = ok(admin.get("/crm/settings"))
    items = [{**c, "sales_target": c["code"] == code} for c in settings["categories"]]
    ok(admin.put("/crm/categories", json={"items": items}))


def visit(start: str, owner: str = "u1", type_: str = "meeting", category: str = "customer_visit") -> dict[str, Any]:
    return event(type_, start=start, category=category, owner_id=owner)


def test_managers_set_targets_only_for_categories_with_a_sales_target(tenant: dict[str, Any]) -> None:
    admin, manager, u1 = tenant["admin"], tenant["manager"], tenant["u1"]
    with_sales_target(admin)
    targets = {"targets": [{"category": "customer_visit", "period": "week", "count": 2}]}
    assert_problem(u1.put("/sales-targets/u1", json=targets), 403)
    no_target = {"targets": [*targets["targets"], {"category": "lead", "period": "month", "count": 1}]}
    assert_problem(manager.put("/sales-targets/u1", json=no_target), 422, "targets.1.category")
    unknown = {"targets": [{"category": "nope", "period": "week", "count": 1}]}
    assert_problem(manager.put("/sales-targets/u1", json=unknown), 422, "targets.0.category")
    bad_period = {"targets": [{"category": "customer_visit", "period": "day", "count": 1}]}
    assert_problem(manager.put("/sales-targets/u1", json=bad_period), 422, "targets.0.period")
    assert ok(u1.get("/sales-targets/u1"))["targets"] == []  # nothing changed

    saved = ok(manager.put("/sales-targets/u1", json=targets))
    assert saved["targets"] == targets["targets"] and saved["updated_by"] == "m1"
    assert ok(u1.get("/sales-targets/u1"))["targets"] == targets["targets"]
    assert_problem(u1.get("/sales-targets/u2"), 403)
    assert_problem(u1.get("/sales-targets/u2/report", params={"from": "2030-01-01", "to": "2030-01-02"}), 403)


def test_sales_target_vs_actual_per_week_and_per_month(tenant: dict[str, Any]) -> None:
    admin, manager, u1 = tenant["admin"], tenant["manager"], tenant["u1"]
    with_sales_target(admin)
    ok(
        manager.put(
            "/sales-targets/u1", json={"targets": [{"category": "customer_visit", "period": "week", "count": 2}]}
        )
    )
    # 2030-W10 is Mon 4 Mar .. Sun 10 Mar; W11 from Mon 11 Mar
    created(u1.post("/activities", json=visit("2030-03-04T08:00:00Z")))
    created(u1.post("/activities", json=visit("2030-03-10T22:00:00Z", type_="call")))
    task = {"type": "task", "subject": "Visit report", "due": "2030-03-12T12:00:00Z", "category": "customer_visit"}
    created(u1.post("/activities", json=task))  # a task counts by its due date
    moving = created(u1.post("/activities", json=visit("2030-04-02T08:00:00Z")))
    created(manager.post("/activities", json=visit("2030-03-05T08:00:00Z", owner="u2")))  # someone else's
    created(u1.post("/activities", json=event("call", start="2030-03-05T08:00:00Z", category="lead")))

    weekly = ok(u1.get("/sales-targets/u1/report", params={"from": "2030-03-04", "to": "2030-03-17"}))
    [visits] = weekly["categories"]
    assert (visits["category"], visits["period"], visits["target"]) == ("customer_visit", "week", 2)
    assert [(p["period"], p["target"], p["actual"]) for p in visits["periods"]] == [
        ("2030-W10", 2, 2),
        ("2030-W11", 2, 1),
    ]

    ok(
        manager.put(
            "/sales-targets/u1", json={"targets": [{"category": "customer_visit", "period": "month", "count": 3}]}
        )
    )
    monthly = ok(manager.get("/sales-targets/u1/report", params={"from": "2030-03-20", "to": "2030-04-20"}))
    assert [(p["period"], p["target"], p["actual"]) for p in monthly["categories"][0]["periods"]] == [
        ("2030-03", 3, 3),
        ("2030-04", 3, 1),
    ]

    # a new start, a new owner or leaving the category moves the activity out of April
    ok(u1.patch(f"/activities/{moving['id']}", json={"start": "2030-03-29T08:00:00Z", "end": "2030-03-29T09:00:00Z"}))
    assert [p["actual"] for p in _months(manager)] == [4, 0]
    ok(manager.patch(f"/activities/{moving['id']}", json={"owner_id": "u2"}))
    assert [p["actual"] for p in _months(manager)] == [3, 0]
    ok(manager.patch(f"/activities/{moving['id']}", json={"owner_id": "u1", "category": "lead"}))
    assert [p["actual"] for p in _months(manager)] == [3, 0]
    as_weeks = ok(
        manager.get("/sales-targets/u1/report", params={"from": "2030-03-04", "to": "2030-03-04", "period": "week"})
    )
    assert as_weeks["categories"][0]["periods"] == [
        {"period": "2030-W10", "start": "2030-03-04", "end": "2030-03-10", "target": None, "actual": 2}
    ]
    assert_problem(
        manager.get("/sales-targets/u1/report", params={"from": "2030-03-04", "to": "2030-03-01"}), 422, "to"
    )


def _months(client: Any) -> list[dict[str, Any]]:
    report = ok(client.get("/sales-targets/u1/report", params={"from": "2030-03-01", "to": "2030-04-30"}))
    periods: list[dict[str, Any]] = report["categories"][0]["periods"]
    return periods


# ----------------------------------------------------------------------------- seller's view


def test_the_sellers_view_has_a_card_per_category_with_the_sellers_own_activities(tenant: dict[str, Any]) -> None:
    manager, u1, u2 = tenant["manager"], tenant["u1"], tenant["u2"]
    starts = ["2030-03-04T08:00:00Z", "2030-03-06T08:00:00Z", "2030-03-05T08:00:00Z"]
    ids = [created(u1.post("/activities", json=visit(s)))["id"] for s in starts]
    lead = created(u1.post("/activities", json=event("call", category="lead")))
    created(u2.post("/activities", json=visit("2030-03-07T08:00:00Z", owner="u2")))
    created(u1.post("/activities", json=event("call")))  # no category: on no card

    view = ok(u1.get("/seller-view", params={"limit": 2}))
    assert view["user_id"] == "u1"
    cards = {c["category"]: c for c in view["cards"]}
    assert list(cards) == ["crm_event", "lead", "sales_action", "customer_visit"]
    visits = cards["customer_visit"]
    assert visits["label"] == "Customer visit" and visits["count"] == 3
    assert [a["id"] for a in visits["items"]] == [ids[1], ids[2]]  # latest first, two of three
    assert [a["id"] for a in cards["lead"]["items"]] == [lead["id"]] and cards["lead"]["count"] == 1
    assert cards["crm_event"] == {**cards["crm_event"], "count": 0, "items": []}

    theirs = ok(manager.get("/seller-view", params={"user_id": "u2"}))
    assert [a["owner_id"] for c in theirs["cards"] for a in c["items"]] == ["u2"]
    assert u1.delete(f"/activities/{ids[1]}").status_code == 204
    again = {c["category"]: c for c in ok(u1.get("/seller-view"))["cards"]}
    assert again["customer_visit"]["count"] == 2
    assert [a["id"] for a in again["customer_visit"]["items"]] == [ids[2], ids[0]]
    assert_problem(u1.get("/seller-view", params={"limit": 0}), 422, "query.limit")
    assert_problem(u1.get("/seller-view", params={"user_id": "u2"}), 403)  # another seller's activities
    assert_problem(manager.get("/seller-view", params={"user_id": "nobody"}), 404)


def test_group_members_follow_the_directorys_users_and_groups(stack: Any, tenant: dict[str, Any]) -> None:
    admin, manager = tenant["admin"], tenant["manager"]
    group = created(admin.post("/groups", json={"name": "Sales north"}))["id"]
    users = [
        created(admin.post("/users", json={"email": f"{n}@example.fi", "name": n, "groups": [group]}))["id"]
        for n in ("anna", "ben")
    ]
    created(admin.post("/users", json={"email": "cara@example.fi", "name": "cara"}))  # in no group
    report_of = {"group_id": group, **AROUND_TODAY}

    def members() -> list[str] | None:
        response = manager.get("/goals/report", params=report_of)
        return sorted(response.json()["member_ids"]) if response.status_code == 200 else None

    assert settle(stack, lambda: members() == sorted(users))
    for user in users:
        created(manager.post("/activities", json=event("call", owner_id=user, status="completed")))
    assert totals(manager, group_id=group) == (2, 4)

    assert admin.patch(f"/users/{users[0]}", json={"groups": []}).status_code == 200
    assert settle(stack, lambda: members() == [users[1]])
    assert totals(manager, group_id=group) == (1, 2)
