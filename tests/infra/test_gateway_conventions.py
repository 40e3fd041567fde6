"""The local gateway answers as API Gateway's HTTP API does: the template's `$default` route takes
every path no other route names, the stage's throttling (a token bucket per route) answers 429 as
API Gateway words it, every answer carries API Gateway's request id, and CORS exposes the headers
the template names."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.test import Client

from infra.gateway import Gateway, RouteTable, TokenBuckets
from infra.template import Route, Stack, Throttle, load_stack

CORS = {"allowOrigins": ["*"], "allowHeaders": ["authorization"], "exposeHeaders": ["location", "x-request-id"]}


def _gateway(throttle: Throttle | None = None, routes: dict[str, Throttle] | None = None) -> tuple[Client, list[Any]]:
    stack = Stack(
        name="kontakt",
        region="eu-north-1",
        account_id="123456789012",
        parameters={},
        routes=[
            Route("ANY", "/items", "Items", False),
            Route("ANY", "/items/{proxy+}", "Items", False),
            Route("ANY", "$default", "Fallback", False),
        ],
        cors=CORS,
        throttle=throttle,
        route_throttles=routes or {},
    )
    events: list[Any] = []

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        events.append((function, event))
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    gateway = Gateway(stack, issuer=None, invoke=invoke, events=lambda _: [])  # type: ignore[arg-type]
    return Client(gateway), events


def test_a_path_no_route_names_goes_to_the_default_route() -> None:
    client, events = _gateway()
    assert client.get("/nowhere/at/all").status_code == 200
    function, event = events[-1]
    assert function == "Fallback" and event["routeKey"] == "$default" and event["rawPath"] == "/nowhere/at/all"
    client.get("/items/1")
    assert events[-1][0] == "Items" and events[-1][1]["routeKey"] == "ANY /items/{proxy+}"


def test_without_a_default_route_api_gateway_answers_404_itself() -> None:
    table = RouteTable([Route("GET", "/items", "Items", False)])
    assert table.match("GET", "/other") is None and table.match("POST", "/items") is None


def test_the_template_sends_unknown_paths_to_a_function_without_a_login() -> None:
    stack = load_stack(_project_root())
    [default] = [r for r in stack.routes if r.path == "$default"]
    assert default.method == "ANY" and not default.auth_required and default.route_key == "$default"
    table = RouteTable(stack.routes)
    assert table.match("GET", "/no/such/path") == (default, {})
    # Public routes take every method: their function answers a wrong one with a 405 problem.
    assert table.match("POST", "/openapi.json")[0].function == "DirectoryApiFunction"  # type: ignore[index]
    assert table.match("DELETE", "/t/abc")[0].function == "EmailApiFunction"  # type: ignore[index]


def test_every_answer_carries_api_gateways_request_id_which_the_function_sees() -> None:
    client, events = _gateway()
    answer = client.get("/items")
    assert answer.headers["Apigw-Requestid"] == events[-1][1]["requestContext"]["requestId"]
    other = client.get("/items")
    assert other.headers["Apigw-Requestid"] != answer.headers["Apigw-Requestid"]


def test_cors_exposes_the_headers_the_template_names() -> None:
    client, _ = _gateway()
    answer = client.get("/items", headers={"Origin": "https://app.example"})
    assert answer.headers["Access-Control-Expose-Headers"] == "location,x-request-id"
    assert client.options("/anything", headers={"Origin": "https://app.example"}).status_code == 204  # preflight


def test_the_stage_throttles_each_route_with_a_token_bucket_as_api_gateway_answers() -> None:
    client, events = _gateway(throttle=Throttle(rate=0.001, burst=3))
    answers = [client.get("/items") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    throttled = answers[-1]
    assert throttled.headers["Content-Type"] == "application/json"  # API Gateway's own, not a problem
    assert json.loads(throttled.data) == {"message": "Too Many Requests"}
    assert throttled.headers["Apigw-Requestid"] and throttled.headers["Access-Control-Allow-Origin"] == "*"
    assert len(events) == 3  # a throttled request never reaches the function
    assert client.get("/items/1").status_code == 200  # another route has its own bucket


def test_a_route_of_its_own_has_its_own_limits() -> None:
    client, _ = _gateway(throttle=Throttle(rate=1000, burst=1000), routes={"ANY /items": Throttle(rate=0.001, burst=1)})
    assert [client.get("/items").status_code for _ in range(2)] == [200, 429]
    assert [client.get("/items/1").status_code for _ in range(2)] == [200, 200]


@pytest.mark.parametrize(("elapsed", "allowed"), [(0.0, False), (0.5, False), (1.0, True), (10.0, True)])
def test_a_bucket_refills_at_its_rate_up_to_its_burst(elapsed: float, allowed: bool) -> None:
    now = [100.0]
    buckets = TokenBuckets(Throttle(rate=1, burst=2), {}, lambda: now[0])
    assert buckets.take("r") and buckets.take("r") and not buckets.take("r")
    now[0] += elapsed
    assert buckets.take("r") is allowed
    now[0] += 100
    assert buckets.take("r") and buckets.take("r") and not buckets.take("r")  # never more than the burst


def test_the_template_sets_the_stages_throttling_the_gateway_enforces() -> None:
    stack = load_stack(_project_root())
    assert stack.throttle == Throttle(rate=50.0, burst=100)


def _project_root() -> Any:
    from infra.template import find_project_root

    return find_project_root()
