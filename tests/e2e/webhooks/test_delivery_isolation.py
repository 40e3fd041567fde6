"""A slow endpoint never delays deliveries to others (issue 20 item 5): one endpoint hangs past the
15 s timeout on every request while another of the same tenant receives N events; the second one's
latency (event put on the bus -> request at the receiver) is printed as p50/p99 and bounded.
What keeps it: the deliverer marks an endpoint slow when a request waits 0.5 s, and its messages
then take the slow lane (WebhooksSlowQueue), at fan-out and at claim (delivery.py); the few claimed
before the mark hold only their own pumps (several side by side, ScalingConfig).

Run: .venv/bin/pytest -p no:xdist -s tests/e2e/webhooks/test_delivery_isolation.py"""

from __future__ import annotations

import json
import statistics
import time

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import drain
from tests.e2e.webhooks.delivery_helpers import contact_created, endpoint
from tests.e2e.webhooks.receiver import Answer, receiver

EVENTS = 20
BOUND_SECONDS = 7.5  # half the hanging endpoint's 15 s: room for a loaded machine (measured p99 0.5-2.6 s)


def test_a_hanging_endpoint_does_not_delay_another(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        hooks.answers["/hang"] = Answer(200, hang=17)
        endpoint(admin, hooks.url("/fast"), event_types=["contact.*"])
        for n in range(8):  # warm: the deliverer's workers start cold once (a local cost, not a delay)
            contact_created(stack, tenant, f"W{n}")
        drain(stack)
        warm = len(hooks.at("/fast"))
        hanging = endpoint(admin, hooks.url("/hang"), event_types=["contact.*"])
        put: dict[str, float] = {}
        for n in range(EVENTS):
            put[contact_created(stack, tenant, f"C{n}")["id"]] = time.time()
            time.sleep(0.5)
        deadline = time.monotonic() + 60
        while len(hooks.at("/fast")) < warm + EVENTS and time.monotonic() < deadline:
            time.sleep(0.2)
        fast = [r for r in hooks.at("/fast") if json.loads(r.body)["id"] in put]
        assert len(fast) == EVENTS
        latencies = sorted(r.at - put[json.loads(r.body)["id"]] for r in fast)
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)))]
        print(
            f"\nfast endpoint beside a hanging one, {EVENTS} events: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )
        assert p99 < BOUND_SECONDS, latencies
        assert hooks.at("/hang")  # the hanging one was tried meanwhile
        hooks.released.set()  # its requests waiting now answer: nothing is left hanging for the next test
        assert admin.delete(f"/webhooks/endpoints/{hanging['id']}").status_code == 204  # its retries end
        drain(stack, timeout=120, busy_ok=True)
