"""Routes that do bulk work (batches, imports, a contact's export, mass activities, a campaign's
send) and search have routes and stage throttles of their own in template.yaml (`RouteSettings`),
lower than the stage's default, and the local gateway enforces them as API Gateway does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import Client

from infra.gateway import Gateway, RouteTable
from infra.template import Stack, Throttle, find_project_root, load_stack

BULK = {
    ("POST", "/contacts/batch"): "POST /contacts/batch",
    ("POST", "/accounts/batch"): "POST /accounts/batch",
    ("POST", "/activities/batch"): "POST /activities/batch",
    ("POST", "/imports"): "ANY /imports",
    ("GET", "/contacts/01JAAAAAAAAAAAAAAAAAAAAAAA/export"): "GET /contacts/{contact_id}/export",
    ("POST", "/mass-activities"): "POST /mass-activities",
    ("POST", "/campaigns/01JAAAAAAAAAAAAAAAAAAAAAAA/send"): "POST /campaigns/{campaign_id}/send",
}


@pytest.fixture(scope="module")
def stack() -> Stack:
    return load_stack(find_project_root())


def test_bulk_routes_and_search_have_lower_limits_than_the_stage(stack: Stack) -> None:
    assert stack.throttle == Throttle(rate=50.0, burst=100)
    expected = {*BULK.values(), "ANY /search"}
    assert set(stack.route_throttles) == expected
    for key in BULK.values():
        assert stack.route_throttles[key] == Throttle(rate=5.0, burst=20)
    assert stack.route_throttles["ANY /search"] == Throttle(rate=20.0, burst=40)


@pytest.mark.parametrize(("request_line", "route_key"), list(BULK.items()))
def test_each_bulk_request_takes_its_own_route(stack: Stack, request_line: tuple[str, str], route_key: str) -> None:
    found = RouteTable(stack.routes).match(*request_line)
    assert found is not None and found[0].route_key == route_key


def test_other_requests_of_the_same_paths_keep_the_shared_routes(stack: Stack) -> None:
    table = RouteTable(stack.routes)
    assert table.match("GET", "/contacts/batch")[0].route_key == "ANY /contacts/{proxy+}"  # type: ignore[index]
    assert table.match("GET", "/mass-activities")[0].route_key == "ANY /mass-activities"  # type: ignore[index]
    assert table.match("POST", "/campaigns/x/pause")[0].route_key == "ANY /campaigns/{proxy+}"  # type: ignore[index]


def test_the_gateway_throttles_a_bulk_route_beyond_its_burst_and_leaves_the_others(stack: Stack) -> None:
    invoked: list[Any] = []

    def refuse(function: str, event: Any) -> dict[str, Any]:  # the authorizer refuses, the function answers
        invoked.append(function)
        if event.get("type") == "REQUEST":
            return {"isAuthorized": True, "context": {"refused_status": "401", "detail": "no"}}
        return {"statusCode": 401, "body": ""}

    gateway = Gateway(stack, issuer=None, invoke=refuse, events=lambda _: [])  # type: ignore[arg-type]
    client = Client(gateway)
    bad = {"Authorization": "Bearer not-a-token"}
    # A bad token: the function's 401 after the throttle took its token; beyond the burst, API Gateway's 429.
    answers = [client.post("/contacts/batch", json={"items": []}, headers=bad) for _ in range(21)]
    assert [a.status_code for a in answers] == [401] * 20 + [429]
    assert json.loads(answers[-1].data) == {"message": "Too Many Requests"}
    functions = [f for f in invoked if f != "AccessAuthorizerFunction"]
    assert len(functions) == 20  # the throttled request never reached the function
    assert invoked.count("AccessAuthorizerFunction") == 1  # its answer is cached for the identity
    assert client.post("/contacts", json={}, headers=bad).status_code == 401  # another route: the stage's own bucket
    assert len([f for f in invoked if f != "AccessAuthorizerFunction"]) == 21
