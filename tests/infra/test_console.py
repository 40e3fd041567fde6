"""The console's lines and notes (infra/console.py), and a function's log file, on the fixture stack."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infra.console import Console, Note, describe, note_of
from infra.functions import FunctionError
from infra.runtime import LocalRuntime
from tests.infra.conftest import FIXTURES

pytestmark = pytest.mark.enable_socket


def _record(level: str, message: str, **keys: object) -> str:
    return json.dumps({"level": level, "location": "f:1", "message": message, "service": "s", **keys})


def test_a_note_is_a_warning_or_error_record_or_a_python_warning() -> None:
    assert note_of(_record("INFO", "event applied")) is None
    assert note_of('{"_aws":{"CloudWatchMetrics":[]},"EventsPublished":[1.0]}') is None
    assert note_of("a print() of the handler") is None
    assert note_of(_record("WARNING", "quota unreadable")) == Note("WARNING", "quota unreadable")
    trace = (
        "Traceback (most recent call last):\n  File ...\npydantic_core._pydantic_core.ValidationError: 1 error\nname"
    )
    failed = _record("ERROR", "event failed", correlation_id="c-1", exception_name="ValidationError", exception=trace)
    assert note_of(failed) == Note("ERROR", "event failed", "c-1", "ValidationError: 1 error")
    python = "/x/metrics/base.py:213: UserWarning: No application metrics to publish."
    assert note_of(python) == Note("WARNING", "UserWarning: No application metrics to publish.")


def _http(path: str, request_id: str = "req-1") -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": "GET /x",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"requestId": request_id, "http": {"method": "GET"}},
    }


def _sqs(*types: str) -> dict[str, object]:
    bodies = [json.dumps({"detail-type": t, "detail": {"correlation_id": f"c-{t}"}}) for t in types]
    return {"Records": [{"eventSource": "aws:sqs", "messageId": str(i), "body": b} for i, b in enumerate(bodies)]}


def test_what_an_invocation_served_and_its_status() -> None:
    assert describe(_http("/contacts"), {"statusCode": 201}, False) == ("GET /contacts", "201")
    assert describe(_http("/contacts"), None, True) == ("GET /contacts", "500")
    authorize = {**_http("/contacts"), "type": "REQUEST", "routeArn": "arn:aws:execute-api:x"}
    assert describe(authorize, {"isAuthorized": True, "context": {}}, False) == ("authorize GET /contacts", "allow")
    refused = {"isAuthorized": True, "context": {"refused_status": "401"}}  # a refusal the function answers
    assert describe(authorize, refused, False) == ("authorize GET /contacts", "401")
    batch = _sqs("a.created", "b.updated", "a.created")
    assert describe(batch, {"batchItemFailures": [{"itemIdentifier": "1"}]}, False) == (
        "a.created x2, b.updated",
        "1/3 failed",
    )
    outbox = {
        "eventSource": "aws:dynamodb",
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"event_type": {"S": "x.y"}}},
    }
    assert describe({"Records": [outbox, outbox]}, {}, False) == ("publish x.y x2", "ok")
    assert (
        describe({"triggerSource": "TokenGeneration_Authentication"}, {}, False)[0] == "TokenGeneration_Authentication"
    )


def test_each_distinct_warning_of_a_function_once_every_error_each_time(caplog: pytest.LogCaptureFixture) -> None:
    console = Console(["ApiFunction", "WorkerFunction"])
    warning = Note("WARNING", "quota unreadable")
    error = Note("ERROR", "event failed", "corr-9", "KeyError: 'name'")
    with caplog.at_level(logging.INFO, logger="kontakt.console"):
        for _ in range(3):
            console.invocation("ApiFunction", _http("/a"), {"statusCode": 200}, None, [warning], 12.0)
        console.invocation("ApiFunction", _http("/a"), {"statusCode": 200}, None, [Note("WARNING", "other")], 3.0)
        console.invocation("WorkerFunction", _sqs("a.created"), {}, None, [warning], 5.0)
        for _ in range(2):
            console.invocation("WorkerFunction", _sqs("a.created"), None, FunctionError("Boom", "x"), [error], 7.0)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) == 7  # one record per invocation, its notes under its line
    assert text.count("warning: quota unreadable") == 2  # once for each function
    assert text.count("warning: other") == 1
    assert (
        text.count("error: event failed: KeyError: 'name'  (correlation id corr-9)  -> kontakt logs WorkerFunction")
        == 2
    )
    first = caplog.records[0].getMessage().splitlines()[0]
    assert first.split() == ["ApiFunction", "GET", "/a", "200", "12", "ms"]
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO", "INFO", "WARNING", "WARNING", "ERROR", "ERROR"]


@pytest.fixture(scope="module")
def logged_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(FIXTURES, stage="console", log_dir=tmp_path_factory.mktemp("logs"), preload=True) as started:
        yield started


def test_a_failing_function_shows_its_error_with_the_request_id_and_logs_its_traceback(
    logged_runtime: LocalRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    assert logged_runtime.log_dir is not None
    with caplog.at_level(logging.INFO, logger="kontakt.console"):
        ok = requests.get(f"{logged_runtime.api_url}/public", timeout=30)
        failed = requests.get(f"{logged_runtime.api_url}/public?fail=1", timeout=30)
        missing = requests.get(f"{logged_runtime.api_url}/nowhere", timeout=30)
    assert (ok.status_code, failed.status_code, missing.status_code) == (200, 500, 404)
    lines = [r.getMessage() for r in caplog.records if r.name == "kontakt.console"]
    # the requests' lines: a schedule firing meanwhile (a minute sweep) adds its own line
    lines = [line for line in lines if line.split()[0] in ("ApiFunction", "(gateway)")]
    assert lines[0].split()[:4] == ["ApiFunction", "GET", "/public", "200"]
    assert lines[0].endswith(" ms  cold")  # its worker started for it
    request_id = failed.headers["Apigw-Requestid"]
    error = lines[1].splitlines()
    assert error[0].split()[:4] == ["ApiFunction", "GET", "/public?fail=1", "500"]
    assert error[1].strip() == (
        f"error: RuntimeError: asked to fail  (correlation id {request_id})  -> kontakt logs ApiFunction"
    )
    assert lines[2].split()[:4] == ["(gateway)", "GET", "/nowhere", "404"] and lines[2].endswith("ms  no route")
    assert len(lines) == 3  # one line for each request

    log = (Path(logged_runtime.log_dir) / "ApiFunction.log").read_text()
    assert log.count("START RequestId: ") == 2 and log.count("REPORT RequestId: ") == 2
    assert "Init Duration: " in log  # the first invocation's, a cold start
    assert "RuntimeError: asked to fail\n" in log  # its traceback, as Lambda logs it


def test_the_emulator_answers_ses_get_account_the_one_account_call_kontakt_makes(logged_runtime: LocalRuntime) -> None:
    """The sender reads its send rate with GetAccount; a 404 there made every start warn."""
    from services.email.ratelimit import DEFAULT_MAX_SEND_RATE, rate_limit

    account = logged_runtime.client("sesv2").get_account()
    assert account["SendingEnabled"] is True and account["ProductionAccessEnabled"] is True
    quota = account["SendQuota"]
    assert rate_limit(quota["MaxSendRate"]) == DEFAULT_MAX_SEND_RATE  # the rate the sender used locally so far
    assert quota["Max24HourSend"] >= quota["SentLast24Hours"] >= 0
