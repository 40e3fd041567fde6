"""(s) Workflow trigger -> action latency through the local stack (issue 23): a person's change of a
contact through the HTTP API, to the workflow's `email.send_requested` on the bus.

An active workflow (`field_changed` department from "Before", action `send_email`) watches the
tenant; N contacts (KONTAKT_PERF_WORKFLOW_UPDATES, default 50) are changed one at a time, paced
(PACE_SECONDS apart, so that each is measured alone, not behind a queue of the others). The path:
PATCH /contacts/{id} -> the directory's outbox -> its publisher (a stream, the template's batching
window) -> the bus -> the workflows queue -> the workflows consumer (the run, its command event in
its outbox) -> its publisher (a stream) -> the bus. A thread reads the dev tap (every event on the
bus) every POLL_SECONDS: the figure is from just before the request to the tap holding the command,
so it includes the tap's own read (an upper bound by that much). The runtime keeps the template's
batching windows (`KONTAKT_PERF_WINDOW=0` sets every pump's to 0: the pipeline's work alone).

Run: .venv/bin/pytest -m perf -s -p no:cacheprovider tests/perf/test_s_workflow_latency.py
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.helpers import settle

from .conftest import FIGURES, PROJECT_ROOT, percentile, render

pytestmark = pytest.mark.perf

UPDATES = int(os.environ.get("KONTAKT_PERF_WORKFLOW_UPDATES", "50"))
WINDOW = os.environ.get("KONTAKT_PERF_WINDOW")  # None: the template's batching windows
PACE_SECONDS = 0.25
POLL_SECONDS = 0.01


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    window = int(WINDOW) if WINDOW is not None else None
    runtime = LocalRuntime(PROJECT_ROOT, stage="dev", port=0, concurrency=2, batching_window=window)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


class Admin:
    def __init__(self, stack: LocalRuntime, tenant: str) -> None:
        self.url = stack.api_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {stack.token(tenant, 'admin-1', 'admin')}"

    def call(self, method: str, path: str, body: dict[str, object], status: int) -> dict[str, object]:
        response = self.session.request(method, f"{self.url}{path}", json=body, timeout=120)
        assert response.status_code == status, response.text
        return dict(response.json())


class Watcher:
    """Reads the tap every POLL_SECONDS: when each record's `email.send_requested` was first seen."""

    def __init__(self, stack: LocalRuntime, tenant: str) -> None:
        self.stack, self.tenant = stack, tenant
        self.seen: dict[str, float] = {}
        self.requests = 0  # the tenant's email.send_requested events seen
        self._ids: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="perf-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            now = time.perf_counter()
            for event in self.stack.events(200):
                detail = event.get("detail") or {}
                if detail.get("tenant_id") != self.tenant or detail.get("type") != "email.send_requested":
                    continue
                if detail["id"] in self._ids:
                    continue
                self._ids.add(detail["id"])
                self.requests += 1
                self.seen.setdefault(detail["causation"][-1]["record_id"], now)


def test_workflow_trigger_to_action_latency(stack: LocalRuntime) -> None:
    tenant = f"perf-flow-{uuid.uuid4().hex[:8]}"
    admin = Admin(stack, tenant)
    template = admin.call("POST", "/email/templates", {"name": "Hi", "subject": "Hi", "html": "<p>Hi</p>"}, 201)
    trigger = {"entity": "contact", "on": "field_changed", "field": "department", "from": "Before"}
    action = {"type": "send_email", "template_id": template["id"]}
    body = {"name": "Moved", "status": "active", "trigger": trigger, "actions": [action]}
    admin.call("POST", "/workflows", body, 201)
    contacts = [
        str(
            admin.call(
                "POST", "/contacts", {"first_name": f"P{n}", "email": f"p{n}@example.fi", "department": "Before"}, 201
            )["id"]
        )
        for n in range(UPDATES + 1)
    ]
    settle(stack, lambda: True)  # the creations handled: they start nothing (not a change)
    warm, measured = contacts[0], contacts[1:]

    sent_at: dict[str, float] = {}
    with Watcher(stack, tenant) as watcher:
        for contact_id in [warm, *measured]:  # the first warms every function on the path
            sent_at[contact_id] = time.perf_counter()
            admin.call("PATCH", f"/contacts/{contact_id}", {"department": "After"}, 200)
            deadline = time.monotonic() + 120
            while contact_id not in watcher.seen and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            time.sleep(PACE_SECONDS)
        settle(stack, lambda: True)
        time.sleep(0.5)  # the watcher's last reads: a second command for a record would show
    latencies = [watcher.seen[c] - sent_at[c] for c in measured if c in watcher.seen]
    assert len(latencies) == UPDATES and watcher.requests == UPDATES + 1  # each update fired once

    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    windows = "template's batching windows" if WINDOW is None else f"batching windows {WINDOW} s"
    rows: list[tuple[str, ...]] = [
        ("updates measured", f"{len(latencies)}", "PATCH /contacts/{id}, one at a time"),
        ("p50 API request -> email.send_requested", f"{p50:,.0f}", f"ms ({windows})"),
        ("p99 API request -> email.send_requested", f"{p99:,.0f}", "ms"),
        ("max", f"{max(latencies) * 1000:,.0f}", "ms"),
    ]
    print(render("(s) workflow trigger -> action latency", rows, header=("figure", "value", "unit / note")))
    FIGURES.add("s. workflows", "API update -> action command p50/p99", f"{p50:,.0f}/{p99:,.0f}", "ms")
    FIGURES.add("s. workflows", "updates measured", len(latencies))
