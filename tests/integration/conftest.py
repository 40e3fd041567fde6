"""Handlers of one service against the emulator built from template.yaml, called in-process.

The emulator and every resource of the template are created once per test worker, and each test
module starts from that freshly provisioned state (the emulator rewinds to it: moto's queries slow
down as its tables grow, and a module's tests may count what they find); each test runs a handler
with that function's environment from the template, as Lambda would.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.client
import pytest

from infra.emulator import Emulator, provision
from infra.functions import worker_spec
from infra.template import Function, Stack, translate
from tests import tokens
from tests.kernel_clock import KernelClock
from tests.lambda_events import sqs_record

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Powertools reads these when shared.observability is first imported: set them before any handler is.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kontakt")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


class Context:
    """What Lambda passes as the context object."""

    def __init__(self, function: Function) -> None:
        self.function_name = function.name
        self.memory_limit_in_mb = function.memory
        self.invoked_function_arn = function.arn
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture(scope="session")
def provisioned_emulator() -> Iterator[tuple[Emulator, Stack]]:
    """One emulator per test worker, provisioned once: a start and a provisioning cost ~1.2 s of
    CPU (the emulator's imports, every table, queue and rule made through the API), a rewind to
    this state ~0.05 s."""
    emulator = Emulator()
    emulator.start()
    try:
        stack = provision(emulator, translate(PROJECT_ROOT), {"Stage": "it"})
        emulator.checkpoint()
        yield emulator, stack
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def emulator(provisioned_emulator: tuple[Emulator, Stack]) -> tuple[Emulator, Stack]:
    """The stack as just provisioned: nothing an earlier module made, changed or sent is left."""
    provisioned_emulator[0].rewind()
    return provisioned_emulator


@pytest.fixture
def aws(emulator: tuple[Emulator, Stack]) -> Emulator:
    return emulator[0]


@pytest.fixture(autouse=True)
def published_events_keep_their_contract(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every catalogued event a handler run here puts in an outbox is what the catalogue says.

    Checked strictly as the e2e run checks the bus (tests/contracts.py). Envelopes of types the
    catalogue does not have are the tests' own probes (the outbox's size tests): `new_event`
    refuses such a type in the services' code.
    """
    from infra.docs import load_catalogue
    from shared.store import UnitOfWork
    from tests.contracts import envelope_problems

    catalogued = {spec.event_type for spec in load_catalogue()}
    published: list[Any] = []
    publish = UnitOfWork.publish

    def recording(uow: Any, event: Any) -> None:
        published.append(event)
        publish(uow, event)

    monkeypatch.setattr(UnitOfWork, "publish", recording)
    yield
    problems = [
        problem
        for event in published
        if event.type in catalogued
        for problem in envelope_problems(event.model_dump(mode="json"))
    ]
    problems = list(dict.fromkeys(problems))  # once each, however many events share it
    assert not problems, "events that disagree with the catalogue:\n" + "\n".join(problems)


@pytest.fixture
def stack(emulator: tuple[Emulator, Stack]) -> Stack:
    return emulator[1]


@pytest.fixture
def lambda_env(emulator: tuple[Emulator, Stack], monkeypatch: pytest.MonkeyPatch) -> Any:
    """`lambda_env("DirectoryApiFunction")` sets that function's environment; returns its context."""
    from aws_lambda_powertools.utilities import parameters

    from shared import outbox, ratelimit, secrets, settings
    from shared.store import bind_table

    aws, stack = emulator

    def enter(logical_id: str) -> Context:
        function = stack.functions[logical_id]
        for name, value in worker_spec(function, PROJECT_ROOT, aws.url).environment.items():
            monkeypatch.setenv(name, value)
        if "AUTH_ISSUER" in function.environment:  # the tests' issuer stands in for the user pool
            tokens.trust(monkeypatch)
        settings.load.cache_clear()
        secrets.signing_key.cache_clear()
        secrets.link_keys.cache_clear()
        parameters.base.DEFAULT_PROVIDERS.clear()  # their clients know the previous module's emulator
        outbox._events_client.cache_clear()
        outbox._sqs_client.cache_clear()
        ratelimit.reset()  # each test's requests start with full buckets, as after a cold start
        if "TABLE_NAME" in function.environment:
            bind_table(function.environment["TABLE_NAME"])
        return Context(function)

    return enter


_clock_starts = itertools.count()


@pytest.fixture
def kernel_clock(monkeypatch: pytest.MonkeyPatch) -> KernelClock:
    """shared.clock on a moment of the test's own, half a second into a second: in 2096, and 1000
    seconds from any other test's, so that what is kept per second (the account-wide send-rate
    windows) is the test's alone; only the code's sleeps and the test's `advance` move it."""
    return KernelClock(4_000_000_000 + 1000 * next(_clock_starts) + 0.5).install(monkeypatch)


@pytest.fixture
def directory_tenant(lambda_env: Any) -> Any:
    """`directory_tenant()`: a new tenant that exists in the directory, as `kontakt tenant create` makes it.

    The directory's API refuses a tenant that was never provisioned; this enters the directory
    API function's environment to create it (a test enters the function it calls afterwards).
    """
    from services.directory import identity
    from services.directory.store import DirectoryStore

    def create() -> str:
        tenant = new_tenant()
        lambda_env("DirectoryApiFunction")
        identity.create_tenant(DirectoryStore(), tenant)
        return tenant

    return create


def http_event(
    method: str,
    path: str,
    tenant: str,
    body: Any = None,
    user: str = "u1",
    role: str = "admin",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event of `user` of `tenant`: a bearer token of the tests' issuer."""
    query = query or {}
    return {
        "version": "2.0",
        "routeKey": f"ANY {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {
            "content-type": "application/json",
            "authorization": tokens.authorization(
                {"sub": f"login-{user}", "user_id": user, "tenant_id": tenant, "role": role, "groups": []}
            ),
        },
        "queryStringParameters": query or None,
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"ANY {path}",
            "stage": "$default",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def sqs_event(bodies: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The SQS event Lambda's event source mapping sends, one record per body."""
    return {"Records": [sqs_record(body, queue_arn) for body in bodies]}


def bus_delivery(envelope: dict[str, Any], source: str = "kontakt.test") -> dict[str, Any]:
    """An EventBridge event as a rule delivers it to a queue."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": envelope["type"],
        "source": source,
        "time": datetime.now(UTC).isoformat(),
        "region": "eu-north-1",
        "resources": [],
        "detail": envelope,
    }


def new_tenant() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every AWS API call the test's own thread makes (not the runtime's pumps), by operation."""
    calls: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call
    owner = threading.get_ident()

    def counted(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if threading.get_ident() == owner:
            calls[operation] += 1
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    return calls
