"""The whole system through `kontakt dev`'s runtime: one LocalRuntime per test session."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.contracts import bus_problems
from tests.e2e.helpers import drain, new_tenant
from tests.e2e.hosts import HOSTS
from tests.e2e.openapi_ops import documented_statuses

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Api:
    """A requests.Session bound to the runtime's API URL, optionally acting as one user."""

    def __init__(self, runtime: LocalRuntime, token: str | None = None) -> None:
        self.runtime = runtime
        self.base_url = runtime.api_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def as_(self, tenant: str, user: str, role: str = "admin", groups: Iterable[str] = ()) -> Api:
        """A client acting as `user` of `tenant` with a fresh dev token."""
        return Api(self.runtime, self.runtime.token(tenant, user, role, groups))

    def anonymous(self) -> Api:
        return Api(self.runtime)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        response = self.session.request(method, self.base_url + path, **kwargs)
        undocumented(method.upper(), path, response.status_code)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def undocumented(method: str, path: str, status: int) -> None:
    """Every answer an e2e test gets from a documented operation has a documented status (a 5xx
    other than 503 is a fault, which no document lists): a status a handler answers that its
    OpenAPI document does not list fails the test that met it."""
    statuses = documented_statuses(method, path)
    if statuses is None or (status >= 500 and status != 503):
        return
    assert str(status) in statuses, (
        f"{method} {path} answered {status}, which its document does not list: {sorted(statuses)}"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # e2e tests talk to the runtime over loopback, whatever unit tests disable.
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.enable_socket)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """One runtime per test worker, shared by every e2e test it runs (each isolated by a tenant of
    its own): no stream batching window, which only delays each hop of a cascade (see LocalRuntime).
    It keeps a mail folder (/dev/mail, the console page's mail panel), as `kontakt dev` does: the
    mail and console tests use it rather than a runtime of their own. Its functions resolve the
    names of tests/e2e/hosts.py only: no test asks real DNS."""
    mail = tmp_path_factory.mktemp("mail")
    runtime = LocalRuntime(
        PROJECT_ROOT, stage="dev", port=0, batching_window=0, mail_dir=mail, hosts=HOSTS, preload=True
    )
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def api(stack: LocalRuntime) -> Api:
    """Anonymous until `.as_(tenant, user, role, groups)`."""
    return Api(stack)


# ----------------------------------------------------------------------------- shared fixtures


@pytest.fixture
def tenant() -> str:
    """A tenant of its own for each test, so tests never see each other's records."""
    return new_tenant()


@pytest.fixture
def admin(api: Api, tenant: str) -> Api:
    """The tenant's admin."""
    return api.as_(tenant, "admin-1", "admin")


@pytest.fixture(scope="session")
def session_api(stack: LocalRuntime) -> Api:
    """Anonymous client for module- or session-scoped fixtures (use `.as_(...)`)."""
    return Api(stack)


# ----------------------------------------------------------------------------- the event contract


@pytest.fixture(scope="session")
def checked_events() -> set[str]:
    """The ids of the bus events the contract check has read."""
    return set()


@pytest.fixture(autouse=True)
def events_keep_their_contract(request: pytest.FixtureRequest, checked_events: set[str]) -> Iterator[None]:
    """After a test with the runtime: every event a Kontakt service put on the bus is what the catalogue says.

    Strictly, as tests/contracts.py reads it (unknown, missing or mistyped fields, type, version,
    producer). The dev tap holds the bus's last 500 events; an event still in an outbox when the
    test ends is checked after the next test.
    """
    if "stack" not in request.fixturenames:
        yield
        return
    stack: LocalRuntime = request.getfixturevalue("stack")
    yield
    new = [event for event in stack.events(None) if event.get("id") not in checked_events]
    checked_events.update(str(event.get("id")) for event in new)
    problems = list(dict.fromkeys(bus_problems(new)))  # once each, however many events share it
    assert not problems, "events that disagree with the catalogue:\n" + "\n".join(problems)


# ----------------------------------------------------------------------------- failed deliveries


@pytest.fixture(scope="module", autouse=True)
def no_failed_deliveries(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a module that ran the stack: no consumer delivery it caused failed. A failed delivery
    waits out its visibility timeout (minutes) and would reach a dead-letter queue unseen by the
    test that caused it. A module whose tests fail deliveries on purpose (crashes, poison messages)
    is marked `failed_deliveries`."""
    items = [item for item in request.session.items if item.module is request.module]
    if not any("stack" in item.fixturenames for item in items) or request.node.get_closest_marker("failed_deliveries"):
        yield
        return
    stack: LocalRuntime = request.getfixturevalue("stack")
    before = stack.failed_deliveries()
    yield
    added: dict[str, int] = {}
    # Once more when one is found: a delivery begun just after the drain (the stack's schedules fire
    # every real minute) ends in the next; a failed one stays in flight for its visibility timeout.
    for _ in range(2):
        drain(stack, busy_ok=True)
        after = stack.failed_deliveries()
        added = {queue: count - before.get(queue, 0) for queue, count in after.items() if count > before.get(queue, 0)}
        if not added:
            break
    assert not added, f"deliveries failed in {request.module.__name__} (by queue): {added}"
