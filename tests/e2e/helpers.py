"""Helpers shared by the e2e tests: bus events, problem responses, paging."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from infra.runtime import LocalRuntime

BUS_NAME = "kontakt-dev"
PROBLEM_JSON = "application/problem+json"


def bus_name(stack: LocalRuntime) -> str:
    assert stack.stack is not None
    names = [bus.name for bus in stack.stack.buses.values()]
    return names[0] if names else BUS_NAME


def envelopes(stack: LocalRuntime, tenant: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """The envelopes (EventBridge `detail`) put on the bus for a tenant, oldest first."""
    found = []
    for event in reversed(stack.events(None)):
        detail = event.get("detail") or {}
        if detail.get("tenant_id") != tenant:
            continue
        if event_type is not None and detail.get("type") != event_type:
            continue
        assert event.get("detail-type") == detail.get("type")
        found.append(detail)
    return found


def put_envelope(stack: LocalRuntime, envelope: dict[str, Any], source: str = "kontakt.test") -> None:
    response = stack.client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": envelope["type"],
                "Detail": json.dumps(envelope),
                "EventBusName": bus_name(stack),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0, response


def field_names(response: requests.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


def assert_problem(response: requests.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """A problem+json answer with this status, naming `field` among its errors if given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["code"] and body["detail"]
    if field is not None:
        assert field in field_names(response), body
    return body


def walk(api: Any, path: str, limit: int = 1, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor with pages of `limit`."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        response = api.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError("the cursor never ended")


def new_tenant() -> str:
    return "t" + uuid.uuid4().hex[:16]


def settle(stack: LocalRuntime, ready: Any, attempts: int = 20) -> Any:
    """Drain until `ready()` returns something truthy, and return it.

    `stack.drain()` can return while a table's stream still holds records its pump has not read
    yet (the pump counts as idle between two polls), so an event that a consumer's outbox write
    causes may reach the bus just after a drain. Draining again until the expected outcome shows
    up keeps the tests free of sleeps and of that race.
    """
    result = None
    for _ in range(attempts):
        stack.drain()
        result = ready()
        if result:
            return result
    return result
