"""What the local console page (infra/devpage.py) reads of the console and the schedules, without
a stack: each bus event an SQS batch carried and how its consumer took it, and when jobs run next."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.console import Console, Note
from infra.functions import FunctionError
from infra.schedules import ScheduleRunner
from infra.template import Schedule, Stack


def _message(message_id: str, event_id: str, envelope_id: str) -> dict[str, Any]:
    body = {"id": event_id, "detail-type": "contact.created", "detail": {"id": envelope_id, "tenant_id": "t"}}
    return {"messageId": message_id, "body": json.dumps(body), "eventSource": "aws:sqs"}


def test_the_console_keeps_each_events_delivery_even_when_it_prints_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "kontakt.console")  # INFO lines off, as in a test's stack
    console = Console(["Consumer"])
    batch = {"Records": [_message("m-1", "ev-1", "env-1"), _message("m-2", "ev-2", "env-2")]}
    console.invocation("Consumer", batch, {"batchItemFailures": [{"itemIdentifier": "m-2"}]}, None, (), 41.0, cold=True)
    console.invocation(
        "Other", {"Records": [_message("m-3", "ev-1", "env-1")]}, None, FunctionError("Boom", "it broke"), (), 5.0
    )

    [first, again] = console.kept.deliveries("ev-1", "env-1")  # known by either id, each delivery once
    assert (first.function, first.outcome, first.ms, first.cold) == ("Consumer", "delivered", 41.0, True)
    assert (again.function, again.outcome) == ("Other", "failed")
    assert [d.outcome for d in console.kept.deliveries("env-2")] == ["failed"]
    assert console.kept.deliveries("unknown") == []

    [other, consumer] = console.kept.invocations()
    assert (consumer.function, consumer.what, consumer.status) == ("Consumer", "contact.created x2", "1/2 failed")
    assert other.status == "failed" and other.errors[0].startswith("error: Boom: it broke")


def test_an_invocations_errors_are_kept_with_it() -> None:
    console = Console(["Api"])
    note = Note("ERROR", "request failed", "corr-9", "KeyError: 'x'")
    console.invocation("Api", {"Records": []}, None, None, (note,), 3.0)
    [kept] = console.kept.invocations()
    assert kept.errors == ("error: request failed: KeyError: 'x'  (correlation id corr-9)  -> kontakt logs Api",)


class _NoScheduler:
    def get_paginator(self, name: str) -> Any:
        return self

    def paginate(self) -> list[dict[str, Any]]:
        return [{"Schedules": []}]


class _Sqs:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"http://sqs/{QueueName}"}

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.sent.append(QueueUrl)


def test_upcoming_says_when_each_template_schedule_fires_next() -> None:
    started = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    schedule = Schedule(
        "Sweep", "kontakt-sweep", "arn:x", "rate(5 minutes)", "UTC", True, "arn:aws:sqs:r:1:kontakt-jobs", None, None,
        "scheduler",
    )  # fmt: skip
    stack = Stack("s", "eu-north-1", "123456789012", {}, schedules={"Sweep": schedule})
    sqs = _Sqs()
    runner = ScheduleRunner(stack, _NoScheduler(), sqs, lambda f, e: None, started=started)
    [row] = runner.upcoming()
    assert row == {
        "name": "kontakt-sweep",
        "kind": "scheduler",
        "expression": "rate(5 minutes)",
        "enabled": True,
        "target": "kontakt-jobs",
        "next": "2026-01-01T12:05:30Z",
    }
    assert runner.fire_due(datetime(2026, 1, 1, 12, 6, tzinfo=UTC)) == ["kontakt-sweep"]
    assert sqs.sent == ["http://sqs/kontakt-jobs"]
    assert runner.upcoming()[0]["next"] == "2026-01-01T12:10:30Z"
