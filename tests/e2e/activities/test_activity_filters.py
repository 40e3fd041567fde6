"""GET /activities: each filter returns exactly its activities, in the order asked, served by an index;
a combination no index serves is a 400 naming the parameter; times are answered in UTC.

One tenant for the module; the contact and account ids are new ULIDs (taken on trust while the
directory's events may still be on their way: tests/e2e/activities/test_activity_references.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from ulid import ULID

from tests.e2e.helpers import assert_problem, created, new_tenant, ok, walk

C1, C2, A1 = str(ULID()), str(ULID()), str(ULID())


def _event(type_: str, day: int, owner: str, **refs: str) -> dict[str, Any]:
    start = f"2030-01-0{day}T09:00:00Z"
    return {"type": type_, "subject": f"{type_} {day}", "start": start, "end": start, "owner_id": owner, **refs}


def _task(type_: str, day: int, owner: str, **refs: str) -> dict[str, Any]:
    return {"type": type_, "subject": f"{type_} {day}", "due": f"2030-01-0{day}T09:00:00Z", "owner_id": owner, **refs}


@pytest.fixture(scope="module")
def made(session_api: Any) -> dict[str, Any]:
    """a1..a6, one a day from 2030-01-01 at 09:00 UTC, created in that order."""
    manager = session_api.as_(new_tenant(), "boss", "manager")
    bodies = [
        _event("call", 1, "u1", contact_id=C1, account_id=A1),
        _event("meeting", 2, "u2", contact_id=C1, account_id=A1),
        _task("task", 3, "u1", account_id=A1),
        _event("call", 4, "u2", contact_id=C2),
        _event("call", 5, "u1"),
        _task("follow_up", 6, "u2", contact_id=C1),
    ]
    ids = {f"a{i}": created(manager.post("/activities", json=body))["id"] for i, body in enumerate(bodies, 1)}
    return {"client": manager, **ids}


def _ids(made: dict[str, Any], limit: int = 2, **params: Any) -> list[str]:
    names = {made[k]: k for k in made if k != "client"}
    return [names.get(a["id"], a["id"]) for a in walk(made["client"], "/activities", limit=limit, **params)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["a1", "a2", "a3", "a4", "a5", "a6"]),  # id order, oldest first
        ({"order": "desc"}, ["a6", "a5", "a4", "a3", "a2", "a1"]),
        ({"sort": "time"}, ["a6", "a5", "a4", "a3", "a2", "a1"]),  # newest first
        ({"sort": "time", "order": "asc"}, ["a1", "a2", "a3", "a4", "a5", "a6"]),
        ({"contact_id": C1}, ["a6", "a2", "a1"]),
        ({"contact_id": C1, "order": "asc"}, ["a1", "a2", "a6"]),
        ({"contact_id": C1, "owner_id": "u1"}, ["a1"]),
        ({"contact_id": C1, "type": "meeting"}, ["a2"]),
        ({"contact_id": C1, "account_id": A1}, ["a2", "a1"]),
        ({"contact_id": C2}, ["a4"]),
        ({"account_id": A1}, ["a3", "a2", "a1"]),
        ({"account_id": A1, "owner_id": "u2"}, ["a2"]),
        ({"account_id": A1, "type": "task"}, ["a3"]),
        ({"owner_id": "u1"}, ["a5", "a3", "a1"]),
        ({"owner_id": "u2", "order": "asc"}, ["a2", "a4", "a6"]),
        ({"owner_id": "u1", "from": "2030-01-02T00:00:00Z", "to": "2030-01-05T09:00:00Z"}, ["a3"]),
        ({"type": "call"}, ["a5", "a4", "a1"]),
        ({"type": "call", "order": "asc", "from": "2030-01-04T09:00:00Z"}, ["a4", "a5"]),  # from: inclusive
        ({"type": "follow_up"}, ["a6"]),
        ({"type": "customer_visit"}, []),
        ({"owner_id": "nobody"}, []),
        ({"from": "2030-01-02T09:00:00Z", "to": "2030-01-04T09:00:00Z", "order": "asc"}, ["a2", "a3"]),  # to: exclusive
        ({"from": "2030-01-02T11:00:00+02:00", "to": "2030-01-04T11:00:00+02:00"}, ["a3", "a2"]),  # the same instants
        ({"to": "2030-01-02T09:00:00Z"}, ["a1"]),
    ],
)
def test_each_filter_returns_exactly_its_activities_in_order(
    made: dict[str, Any], params: dict[str, Any], expected: list[str]
) -> None:
    assert _ids(made, **params) == expected


def test_a_page_is_cut_where_the_next_one_goes_on(made: dict[str, Any]) -> None:
    client = made["client"]
    first = ok(client.get("/activities", params={"owner_id": "u1", "limit": 2}))
    assert [a["id"] for a in first["items"]] == [made["a5"], made["a3"]] and first["next_cursor"]
    rest = ok(client.get("/activities", params={"owner_id": "u1", "limit": 2, "cursor": first["next_cursor"]}))
    assert [a["id"] for a in rest["items"]] == [made["a1"]] and rest["next_cursor"] is None
    # the cursor belongs to its list: another filter's list refuses it
    foreign = client.get("/activities", params={"owner_id": "u2", "cursor": first["next_cursor"]})
    assert_problem(foreign, 400, "query.cursor")


def test_combinations_no_index_serves_are_refused_naming_the_parameter(made: dict[str, Any]) -> None:
    client = made["client"]
    assert_problem(client.get("/activities", params={"owner_id": "u1", "type": "call"}), 400, "query.type")
    assert_problem(client.get("/activities", params={"owner_id": "u1", "sort": "id"}), 400, "query.sort")
    assert_problem(client.get("/activities", params={"from": "2030-01-01T00:00:00Z", "sort": "id"}), 400, "query.sort")
    assert_problem(client.get("/activities", params={"ids": made["a1"], "owner_id": "u1"}), 400, "query.owner_id")
    assert_problem(client.get("/activities", params={"sort": "subject"}), 422, "query.sort")
    assert_problem(client.get("/activities", params={"order": "up"}), 422, "query.order")
    assert_problem(client.get("/activities", params={"type": "Not A Code"}), 422, "query.type")
    assert_problem(client.get("/activities", params={"from": "2030-01-02T00:00:00"}), 422, "query.from")  # no zone
    span = {"from": "2030-01-02T00:00:00Z", "to": "2030-01-02T00:00:00Z"}
    assert_problem(client.get("/activities", params=span), 422, "query.to")


def test_another_tenant_sees_none_of_them(session_api: Any, made: dict[str, Any]) -> None:
    stranger = session_api.as_(new_tenant(), "boss", "manager")
    for params in ({}, {"sort": "time"}, {"contact_id": C1}, {"owner_id": "u1"}, {"type": "call"}):
        assert ok(stranger.get("/activities", params=params))["items"] == []


def test_a_time_sent_with_an_offset_comes_back_as_the_same_instant_in_utc(session_api: Any) -> None:
    client = session_api.as_(new_tenant(), "u1", "user")
    body = {
        "type": "meeting",
        "subject": "Lunch",
        "start": "2030-02-01T12:00:00+02:00",
        "end": "2030-02-01T13:30:00+02:00",
    }
    made_now = created(client.post("/activities", json=body))
    assert (made_now["start"], made_now["end"]) == ("2030-02-01T10:00:00Z", "2030-02-01T11:30:00Z")
    assert made_now["created_at"].endswith("Z") and made_now["updated_at"].endswith("Z")
    read = ok(client.get(f"/activities/{made_now['id']}"))
    assert (read["start"], read["end"]) == ("2030-02-01T10:00:00Z", "2030-02-01T11:30:00Z")
    task = {"type": "task", "subject": "Call back", "due": "2030-02-02T08:00:00-05:00"}
    due = created(client.post("/activities", json=task))
    changed = ok(client.patch(f"/activities/{due['id']}", json={"due": "2030-02-03T23:30:00+05:30"}))
    assert (due["due"], changed["due"]) == ("2030-02-02T13:00:00Z", "2030-02-03T18:00:00Z")
    listed = ok(client.get("/activities", params={"ids": f"{made_now['id']},{due['id']}"}))["items"]
    assert [(a["start"], a["due"]) for a in listed] == [("2030-02-01T10:00:00Z", None), (None, "2030-02-03T18:00:00Z")]
