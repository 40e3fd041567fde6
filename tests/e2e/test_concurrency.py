"""Writes a client can race and retry safely, in every service (shared/preconditions.py, the kernel's
`patch_changes`): a record's GET carries its version as a strong ETag; a PATCH, PUT or DELETE with
an If-Match that no longer holds is a 412 problem and writes nothing; `If-Match: *` holds for any
existing record; tenant settings alike; a PATCH that changes nothing writes nothing (no version, no
`updated_at`, no event); `null` in a PATCH clears an optional field and is a 422 for one the record
always has.

One tenant for the module: each case makes its own records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, envelopes, new_tenant, ok, settle

END = "2030-05-04T12:00:00+00:00"


@dataclass(frozen=True)
class Case:
    """A record of one service, as a client changes it."""

    collection: str
    body: dict[str, Any]  # creates it
    first: dict[str, Any]  # one client's change
    second: dict[str, Any]  # the other client's change of the same field
    optional: str  # a field it may lose (null clears it)
    required: str  # a field it always has (null is refused)
    updated: str | None  # the event a change publishes (None: the service publishes none)


CASES = {
    "directory": Case(
        "/accounts",
        {"name": "Acme", "email": "info@acme.example"},
        {"name": "Acme One"},
        {"name": "Acme Two"},
        "email",
        "name",
        "account.updated",
    ),
    "activities": Case(
        "/activities",
        {"type": "task", "subject": "Call back", "due": END, "description": "About the offer"},
        {"subject": "Call back today"},
        {"subject": "Call back tomorrow"},
        "description",
        "subject",
        "activity.updated",
    ),
    "email": Case(
        "/email/templates",
        {"name": "Welcome", "subject": "Welcome {{ contact.first_name }}", "html": "<p>Hi</p>", "text": "Hi"},
        {"name": "Welcome one"},
        {"name": "Welcome two"},
        "text",
        "subject",
        None,
    ),
}

# A tenant setting of each service: its path, two values a PUT sets, and the field they differ in.
SETTINGS = {
    "directory": ("/picklists/region", {"items": [{"code": "north", "label": "North", "active": True}]}, "items"),
    "activities": ("/activity-settings", {"time_zone": "Europe/Stockholm"}, "time_zone"),
    "email": ("/email/settings", {"from_name": "Sales desk"}, "from_name"),
}
SECOND_SETTING = {
    "directory": {"items": [{"code": "south", "label": "South", "active": True}]},
    "activities": {"time_zone": "Europe/Oslo"},
    "email": {"from_name": "Support desk"},
}


@pytest.fixture(scope="module")
def tenant() -> str:
    return new_tenant()


@pytest.fixture(scope="module")
def clients(session_api: Api, tenant: str) -> tuple[Api, Api]:
    """Two clients (two admins) of the module's tenant."""
    return session_api.as_(tenant, "admin-1", "admin"), session_api.as_(tenant, "admin-2", "admin")


def _etag(response: requests.Response) -> str:
    tag = response.headers.get("ETag")
    assert tag is not None, f"no ETag on {response.request.method} {response.request.path_url}"
    return tag


def _make(client: Api, case: Case) -> tuple[str, dict[str, Any]]:
    record = created(client.post(case.collection, json=case.body))
    return f"{case.collection}/{record['id']}", record


def _precondition_failed(response: requests.Response) -> None:
    problem = assert_problem(response, 412)
    assert problem["code"] == "precondition_failed", problem


@pytest.mark.parametrize("service", CASES)
def test_a_get_carries_the_version_and_a_stale_write_is_refused(clients: tuple[Api, Api], service: str) -> None:
    case = CASES[service]
    one, two = clients
    path, record = _make(one, case)
    read = one.get(path)
    assert ok(read)["version"] == record["version"]
    tag = _etag(read)
    assert tag == f'"{record["version"]}"'  # strong: If-Match compares strongly
    assert _etag(two.get(path)) == tag

    first = one.patch(path, json=case.first, headers={"If-Match": tag})
    assert ok(first)[next(iter(case.first))] == next(iter(case.first.values()))
    assert _etag(first) == f'"{record["version"] + 1}"' == _etag(one.get(path))
    _precondition_failed(two.patch(path, json=case.second, headers={"If-Match": tag}))
    held = ok(two.get(path))
    assert held[next(iter(case.first))] == next(iter(case.first.values()))  # the first write, not the second
    assert held["version"] == record["version"] + 1

    _precondition_failed(two.delete(path, headers={"If-Match": tag}))
    assert ok(two.get(path))["id"] == record["id"]  # still there
    _precondition_failed(two.patch(path, json=case.second, headers={"If-Match": 'W/"2"'}))  # weak never matches
    _precondition_failed(two.patch(path, json=case.second, headers={"If-Match": "2"}))  # not an entity tag

    anyone = two.patch(path, json=case.second, headers={"If-Match": "*"})
    assert ok(anyone)[next(iter(case.second))] == next(iter(case.second.values()))
    listed = two.patch(path, json=case.first, headers={"If-Match": f'"1", {_etag(anyone)}'})
    assert ok(listed)["version"] == record["version"] + 3
    unconditional = one.patch(path, json=case.second)  # without If-Match: as before, the last write wins
    assert ok(unconditional)["version"] == record["version"] + 4

    assert two.delete(path, headers={"If-Match": _etag(unconditional)}).status_code == 204
    assert_problem(one.get(path), 404)


@pytest.mark.parametrize("service", CASES)
def test_a_patch_that_changes_nothing_writes_nothing(
    stack: Any, tenant: str, clients: tuple[Api, Api], service: str
) -> None:
    case = CASES[service]
    one, _ = clients
    path, record = _make(one, case)
    same_values = {case.required: record[case.required], case.optional: record[case.optional]}
    for body in ({}, {case.required: record[case.required]}, same_values):
        same = one.patch(path, json=body)
        answered = ok(same)
        assert (answered["version"], answered["updated_at"]) == (record["version"], record["updated_at"]), body
        assert _etag(same) == f'"{record["version"]}"'
    stored = ok(one.get(path))
    assert (stored["version"], stored["updated_at"]) == (record["version"], record["updated_at"])
    # A stale If-Match fails a no-op too: the condition is evaluated before the method.
    _precondition_failed(one.patch(path, json={}, headers={"If-Match": f'"{record["version"] + 1}"'}))

    if case.updated is not None:  # then a real change: the one event of an update on the bus is its
        changed = ok(one.patch(path, json=case.first))

        def published() -> list[dict[str, Any]]:
            return [e for e in envelopes(stack, tenant, case.updated) if e["data"]["id"] == record["id"]]

        events = settle(stack, published)
        assert len(events) == 1, events
        assert changed["version"] == record["version"] + 1


@pytest.mark.parametrize("service", CASES)
def test_null_clears_an_optional_field_and_refuses_a_required_one(clients: tuple[Api, Api], service: str) -> None:
    case = CASES[service]
    one, _ = clients
    path, record = _make(one, case)
    assert record.get(case.optional)
    refused = one.patch(path, json={case.required: None})
    assert_problem(refused, 422, case.required)
    clearing = one.patch(path, json={case.optional: None})
    cleared = ok(clearing)
    assert cleared.get(case.optional) in (None, "")
    assert ok(one.get(path)).get(case.optional) in (None, "")
    assert cleared[case.required] == record[case.required]  # left out: kept
    assert cleared["version"] == record["version"] + 1 and _etag(clearing) == f'"{cleared["version"]}"'
    again = ok(one.patch(path, json={case.optional: None}))  # cleared already: nothing to write
    assert (again["version"], again["updated_at"]) == (cleared["version"], cleared["updated_at"])


@pytest.mark.parametrize("service", SETTINGS)
def test_tenant_settings_take_if_match(clients: tuple[Api, Api], service: str) -> None:
    path, value, field = SETTINGS[service]
    one, two = clients
    tag = _etag(one.get(path))
    first = one.put(path, json=value, headers={"If-Match": tag})
    ok(first)
    assert _etag(first) != tag and _etag(first) == _etag(two.get(path))
    _precondition_failed(two.put(path, json=SECOND_SETTING[service], headers={"If-Match": tag}))
    held = one.get(path).json()
    held = held if isinstance(held, dict) else {"items": held}
    assert held[field] == value[field]
    again = one.put(path, json=value, headers={"If-Match": _etag(first)})  # the same value: nothing written
    assert _etag(again) == _etag(first)
    assert ok(two.put(path, json=SECOND_SETTING[service], headers={"If-Match": "*"})) is not None


def test_a_browser_may_send_if_match_and_read_the_etag(clients: tuple[Api, Api]) -> None:
    one, _ = clients
    path, _ = _make(one, CASES["directory"])
    origin = {"Origin": "https://app.example", "Access-Control-Request-Method": "PATCH"}
    preflight = one.anonymous().request(
        "OPTIONS", path, headers={**origin, "Access-Control-Request-Headers": "if-match"}
    )
    assert preflight.status_code == 204
    assert "if-match" in preflight.headers["Access-Control-Allow-Headers"].lower().split(",")
    read = one.get(path, headers={"Origin": "https://app.example"})
    assert "etag" in read.headers["Access-Control-Expose-Headers"].lower().split(",")
