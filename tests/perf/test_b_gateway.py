"""(b) Contacts created per second through the HTTP gateway of the local runtime."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from infra.runtime import LocalRuntime

from .conftest import FIGURES, percentile, render, stopwatch

pytestmark = pytest.mark.perf

TENANT = "perf-gateway"
REQUESTS = 120
CLIENT_THREADS = 4


def test_contacts_created_per_second_through_the_gateway(runtime: LocalRuntime) -> None:
    token = runtime.token(TENANT, "perf-admin", "admin")
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {token}"
        return local.session

    def create(n: int) -> tuple[int, float]:
        body = {"first_name": f"Gate{n}", "last_name": "Way", "email": f"gate{n}@perf.example", "region": "north"}
        with stopwatch() as elapsed:
            response = session().post(f"{runtime.api_url}/contacts", json=body, timeout=120)
        assert response.status_code in (201, 409), response.text  # 409: the contact counter stayed contended
        return response.status_code, elapsed()

    # Warm up: cold start of the workers and the tenant's first-request setup are not measured.
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(create, range(-CLIENT_THREADS, 0)))
    with stopwatch() as elapsed, ThreadPoolExecutor(CLIENT_THREADS) as pool:
        results = list(pool.map(create, range(REQUESTS)))
    seconds = elapsed()
    latencies = [latency for _, latency in results]
    created = sum(1 for status, _ in results if status == 201)
    conflicts = REQUESTS - created
    rate = created / seconds
    p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
    print(
        render(
            f"(b) POST /contacts through the gateway: {REQUESTS} requests, {CLIENT_THREADS} client threads, "
            f"{runtime.concurrency} workers per function",
            [
                ("contacts created", f"{rate:.1f}", "per s"),
                ("409 conflicts", str(conflicts), f"of {REQUESTS}"),
                ("latency p50", f"{p50:.0f}", "ms"),
                ("latency p95", f"{p95:.0f}", "ms"),
                ("wall time", f"{seconds:.1f}", "s"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("b. gateway", f"contacts created/s ({CLIENT_THREADS} threads)", round(rate, 1), "per s")
    FIGURES.add("b. gateway", "409 conflicts (contact counter)", conflicts, f"of {REQUESTS}")
    FIGURES.add("b. gateway", "POST /contacts latency p50", round(p50), "ms")
    FIGURES.add("b. gateway", "POST /contacts latency p95", round(p95), "ms")
    assert rate > 0.2
    assert created >= REQUESTS // 2
    runtime.drain(120)  # the outbox events of the contacts are published before the next benchmark
