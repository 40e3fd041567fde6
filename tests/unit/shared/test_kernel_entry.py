"""The one Lambda entry (shared/entry.py): what an operator finds in every function's logs, and the
table a function works on from its first call."""

from dataclasses import dataclass
from typing import Any

import pytest

from shared import entry
from shared.observability import logger
from shared.settings import TableSettings
from shared.store import TableItem
from tests.lambda_events import sqs_record


class EntrySettings(TableSettings):
    table_name: str = "kontakt-entry-test"


@dataclass
class Context:
    """The fields of Lambda's context object that Powertools' logger reads."""

    aws_request_id: str = "lambda-request-1"
    function_name: str = "EntryTestFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-north-1:123456789012:function:EntryTestFunction"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new cold start; the table binding it makes is undone afterwards."""
    monkeypatch.setattr(TableItem.Meta, "table_name", None)
    entry.cold_start.cache_clear()


def test_an_http_function_logs_its_request_and_works_on_its_table(make_http_event: Any) -> None:
    seen: dict[str, Any] = {}

    @entry.entry(EntrySettings, http=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.update(keys=logger.get_current_keys(), table=TableItem.Meta.table_name)
        return {"statusCode": 204}

    assert handler(make_http_event("GET", "/things", request_id="api-req-7"), Context()) == {"statusCode": 204}
    assert seen["table"] == "kontakt-entry-test"
    assert seen["keys"]["function_request_id"] == "lambda-request-1"
    assert seen["keys"]["function_name"] == "EntryTestFunction"
    assert seen["keys"]["correlation_id"] == "api-req-7"  # the API Gateway request id


def test_a_jobs_queue_logs_each_job_by_name_and_returns_only_the_failed_message() -> None:
    ran: list[tuple[str, Any]] = []

    def run_job(message: dict[str, Any]) -> None:
        ran.append((message["job"], logger.get_current_keys().get("job")))
        if message["job"] == "broken":
            raise RuntimeError("the job failed")

    handler = entry.jobs_entry(EntrySettings, run_job)
    records = [_sqs_record("m-1", {"job": "sweep"}), _sqs_record("m-2", {"job": "broken"})]

    assert handler({"Records": records}, Context()) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert ran == [("sweep", "sweep"), ("broken", "broken")]
    assert TableItem.Meta.table_name == "kontakt-entry-test"


def _sqs_record(message_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return sqs_record(body, "arn:aws:sqs:eu-north-1:123456789012:jobs", message_id)


GC_PROBE = """
import gc, json, sys
import shared
from shared.entry import entry
during_init = gc.isenabled()
handler = entry(None, traced=False, metered=False)(lambda event, context: {"enabled": gc.isenabled()})
from types import SimpleNamespace
context = SimpleNamespace(function_name="f", memory_limit_in_mb=128, invoked_function_arn="arn", aws_request_id="r")
answer = handler({}, context)
print(json.dumps([during_init, answer["enabled"], gc.get_freeze_count() > 0]))
"""


@pytest.mark.parametrize(("lambda_env", "expected"), [(True, [False, True, True]), (False, [True, True, False])])
def test_a_function_collects_no_garbage_while_its_modules_load(lambda_env: bool, expected: list[bool]) -> None:
    """In Lambda the collector is off while the modules load (each full collection walks every object
    the imports made); the first invocation freezes those objects and turns it on again."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    if lambda_env:
        env["AWS_LAMBDA_FUNCTION_NAME"] = "kontakt-test"
    done = subprocess.run([sys.executable, "-c", GC_PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == expected
