"""Small pure pieces of the runtime."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra import schedules
from infra.gateway import Gateway, RouteTable, claim_text
from infra.pumps import describe_message
from infra.schedules import ScheduleExpressionError, ScheduleRunner, next_fire, with_context
from infra.template import Route, Schedule


def test_claims_render_like_the_http_api_authorizer() -> None:
    assert claim_text(["a", "b"]) == "[a b]"
    assert claim_text([]) == "[]"
    assert claim_text(1700000000) == "1700000000"
    assert claim_text(True) == "true"


def test_most_specific_route_wins() -> None:
    table = RouteTable(
        [
            Route("ANY", "/items/{proxy+}", "F", True),
            Route("GET", "/items/{id}", "F", True),
            Route("GET", "/items/special", "F", True),
            Route("ANY", "/items/special", "F", True),
        ]
    )
    assert table.match("GET", "/items/special") == (Route("GET", "/items/special", "F", True), {})
    assert table.match("POST", "/items/special")[0].method == "ANY"  # type: ignore[index]
    assert table.match("GET", "/items/42") == (Route("GET", "/items/{id}", "F", True), {"id": "42"})
    assert table.match("GET", "/items/4/2")[1] == {"proxy": "4/2"}  # type: ignore[index]
    assert table.match("GET", "/other") is None


def test_a_greedy_route_takes_an_encoded_newline_as_api_gateway_does() -> None:
    table = RouteTable([Route("ANY", "/items/{proxy+}", "F", True)])
    # The function's router answers it (a 404 or 422 problem), not the gateway's {"message": "Not Found"}.
    assert table.match("GET", "/items/5\n/files/x") == (
        Route("ANY", "/items/{proxy+}", "F", True),
        {"proxy": "5\n/files/x"},
    )


def test_schedule_expressions() -> None:
    start = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
    assert next_fire("rate(5 minutes)", start) == datetime(2026, 1, 1, 12, 35, tzinfo=UTC)
    assert next_fire("cron(0 6 * * ? *)", start) == datetime(2026, 1, 2, 6, 0, tzinfo=UTC)
    # 1 = Sunday in AWS cron; 2026-01-04 is a Sunday
    assert next_fire("cron(15 10 ? * 1 *)", start) == datetime(2026, 1, 4, 10, 15, tzinfo=UTC)
    assert next_fire("cron(0/20 * * * ? *)", start) == datetime(2026, 1, 1, 12, 40, tzinfo=UTC)
    assert next_fire("at(2026-01-01T13:00:00)", start) == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert next_fire("at(2026-01-01T12:00:00)", start) is None
    helsinki = next_fire("cron(0 9 * * ? *)", start, "Europe/Helsinki")
    assert helsinki == datetime(2026, 1, 2, 7, 0, tzinfo=UTC)
    with pytest.raises(ScheduleExpressionError):
        next_fire("cron(0 9 L * ? *)", start)


def test_a_rate_schedule_fired_years_ahead_counts_its_missed_firings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test fires schedules years ahead (`stack.fire_schedules`): the stack's rate(1 minute) sweep
    fires once, and is due again a minute later, without a step per missed minute (millions)."""
    queue_arn = "arn:aws:sqs:eu-north-1:123456789012:jobs"
    sweep = Schedule("Sweep", "sweep", "arn:sweep", "rate(1 minute)", "UTC", True, queue_arn, None, "{}", "scheduler")
    sent: list[str] = []
    stack = SimpleNamespace(schedules={"Sweep": sweep}, queue_by_arn=lambda arn: SimpleNamespace(url="jobs"))
    sqs = SimpleNamespace(send_message=lambda QueueUrl, MessageBody: sent.append(QueueUrl))
    paginator = SimpleNamespace(paginate=lambda: [{"Schedules": []}])
    scheduler = SimpleNamespace(get_paginator=lambda name: paginator)
    started = datetime(2026, 12, 5, 9, 0, 7, tzinfo=UTC)
    runner = ScheduleRunner(stack, scheduler, sqs, invoke=lambda *_: None, started=started)  # type: ignore[arg-type]
    steps = []
    monkeypatch.setattr(schedules, "next_fire", lambda *a: steps.append(a) or next_fire(*a))

    ahead = datetime(2031, 1, 5, 7, 0, 30, tzinfo=UTC)
    assert runner.fire_due(ahead) == ["sweep"] and sent == ["jobs"]
    # Due at 07:00:07 (a whole number of minutes after the start), then a minute later, not before.
    assert runner.fire_due(ahead + timedelta(seconds=36)) == []
    assert runner.fire_due(ahead + timedelta(seconds=37)) == ["sweep"]
    assert runner.fire_due(started + timedelta(minutes=2)) == ["sweep"]  # the clock back: due again
    assert runner.fire_due(started + timedelta(minutes=2, seconds=30)) == []
    assert len(steps) < 20, f"{len(steps)} next_fire calls"


def test_delivery_lines_name_the_event() -> None:
    body = '{"detail-type": "account.created", "id": "eb-1", "detail": {"id": "env-1"}}'
    assert describe_message(body) == "account.created env-1"


def test_scheduler_context_attributes_are_filled_in() -> None:
    text = '{"job": "x", "at": "<aws.scheduler.scheduled-time>", "run": "<aws.scheduler.execution-id>"}'
    filled = json.loads(with_context(text, datetime(2026, 12, 1, 8, 30, tzinfo=UTC)))
    assert filled["at"] == "2026-12-01T08:30:00Z"
    assert filled["run"] and "<" not in filled["run"]


def _gateway_event(query: str) -> dict[str, Any]:
    """The event the local gateway builds for `GET /items?<query>`."""
    stack: Any = SimpleNamespace(api_id="api1", routes=[], throttle=None, route_throttles={})
    gateway = Gateway(stack, issuer=None, invoke=lambda *_: None, events=lambda _: [])  # type: ignore[arg-type]
    request = Request(EnvironBuilder(method="GET", path="/items", query_string=query).get_environ())
    return gateway.event(request, Route("GET", "/items", "F", True), {}, None, b"")


@pytest.mark.parametrize(
    ("query", "parameters"),
    [
        ("s=a&s=b", {"s": "a,b"}),  # repeated: joined with commas, in order
        ("s=a,b", {"s": "a,b"}),
        ("s=a&t=1&s=b&s=", {"s": "a,b,", "t": "1"}),
        ("s=a%2Cb&s=c+d%20e", {"s": "a,b,c d e"}),  # values decoded, the raw string kept as sent
    ],
)
def test_repeated_query_parameters_are_comma_joined_as_http_api_payload_2(
    query: str, parameters: dict[str, str]
) -> None:
    # AWS: "Duplicate query strings are combined with commas and included in the
    # queryStringParameters field"; rawQueryString is the query as the client sent it.
    event = _gateway_event(query)
    assert event["queryStringParameters"] == parameters
    assert event["rawQueryString"] == query
    assert "multiValueQueryStringParameters" not in event


def test_no_query_has_no_query_string_parameters() -> None:
    event = _gateway_event("")
    assert "queryStringParameters" not in event
    assert event["rawQueryString"] == ""
