"""The webhook transport connects to the address the outbound guard checked, never resolving the
name again, and keeps the name as the request's Host (a loopback receiver, a stubbed resolver)."""

from __future__ import annotations

import pytest

from services.webhooks import transport
from services.webhooks.domain.messages import WebhookAttemptError
from shared import outbound
from tests.e2e.webhooks.receiver import Answer, receiver

pytestmark = pytest.mark.enable_socket


def test_the_checked_address_is_connected_to_under_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def resolve(host: str) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(outbound, "resolve", resolve)
    monkeypatch.setenv(outbound.ALLOW_ENV, "127.0.0.1/32")
    with receiver() as hooks:
        hooks.answers["/in"] = Answer(302, headers={"location": "http://169.254.169.254/"})
        port = hooks.server.server_address[1]
        answer = transport.post(f"http://hooks.example.test:{port}/in", '{"a":1}', {"x-key": "v"})
        [request] = hooks.at("/in")
    assert asked == ["hooks.example.test"]  # one lookup, the guard's
    assert request.headers["host"] == f"hooks.example.test:{port}" and request.headers["x-key"] == "v"
    assert request.body == '{"a":1}'
    assert answer.status_code == 302 and answer.headers["location"] == "http://169.254.169.254/"  # not followed
    assert answer.body == "ok" and answer.error is None


def test_a_receiver_that_keeps_quiet_is_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(outbound.ALLOW_ENV, "127.0.0.1/32")
    with receiver() as hooks:
        hooks.answers["/slow"] = Answer(200, hang=3)
        answer = transport.post(hooks.url("/slow"), "{}", {}, timeout=0.5)
    assert answer.error is WebhookAttemptError.timeout and 400 <= answer.latency_ms < 2000
