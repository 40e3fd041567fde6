"""A slow endpoint never delays deliveries to others (issue 20 item 5): while one endpoint keeps its
first request waiting, another of the same tenant receives every event put meanwhile. Judged by the
order of events, not by a time: the receiver answers the hanging requests only once the other
endpoint has all its deliveries, and the deliverer records that answer (`delivered`) only if its
first attempt was still waiting then; had the others waited for it, its 15 s timeout would have come
first (recorded `retry`, error `timeout`).

What keeps it: the deliverer marks an endpoint slow when a request waits 0.5 s, and its messages
then take the slow lane (WebhooksSlowQueue), at fan-out and at claim (delivery.py); the few claimed
before the mark hold only their own pumps (several side by side, ScalingConfig). The events put once it
is marked are more than the main lane holds without the slow lane (AFTER_MARK).

The fast endpoint's latency figures are tests/perf/test_n_webhooks.py's."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import settle, table_name
from tests.e2e.webhooks.delivery_helpers import (
    attempts,
    contact_created,
    contact_envelope,
    endpoint,
    message_id,
    put_together,
)
from tests.e2e.webhooks.receiver import Answer, Receiver, receiver

# Events put after the slow mark: 50 messages, more than the main lane's 10 pumps (locally too) take
# in batches of 5 beside the hanging batches before the mark, so without the slow lane some would
# wait for a hanging batch's timeout (and the test fails: tried with it switched off).
AFTER_MARK = 25


def test_a_hanging_endpoint_does_not_delay_another(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        hooks.answers["/hang"] = Answer(200, hang=17)  # past the 15 s timeout unless released
        endpoint(admin, hooks.url("/fast"), event_types=["contact.*"])
        hanging = endpoint(admin, hooks.url("/hang"), event_types=["contact.*"])
        first = contact_created(stack, tenant, "C-first")
        assert polled(lambda: hooks.at("/hang"))  # its first request is waiting
        # put while that request waits, maybe before its mark: claimed on the main lane, they hold their own pumps
        events = [first, contact_created(stack, tenant, "C-early-1"), contact_created(stack, tenant, "C-early-2")]
        assert polled(lambda: marked_slow(stack, tenant, hanging["id"]))
        ids = {e["id"] for e in events}
        # in waves of 10, each once the one before was delivered: fewer deliverers at once (each
        # one's cold start costs CPU), while the hanging endpoint's messages pile up all the same
        for start in range(0, AFTER_MARK, 10):
            wave = [contact_envelope(tenant, f"C{n}") for n in range(start, min(start + 10, AFTER_MARK))]
            put_together(stack, wave)
            ids |= {e["id"] for e in wave}
            polled(received(hooks, "/fast", frozenset(ids)))
        hooks.released.set()  # the hanging requests answer now: after the last delivery to the other
        fast = [r for r in hooks.at("/fast") if json.loads(r.body)["id"] in ids]
        assert len(fast) == len(ids)  # each event once, none missing

        assert admin.delete(f"/webhooks/endpoints/{hanging['id']}").status_code == 204  # any retries end
        mid = message_id(hanging["id"], first["id"])
        recorded = settle(stack, lambda: attempts(stack, tenant, mid), timeout=120, busy_ok=True)
        assert recorded and recorded[0]["number"] == 1, recorded
        # answered after every delivery to the other endpoint, within its own timeout: still waiting then
        assert (recorded[0]["outcome"], recorded[0].get("status_code")) == ("delivered", 200), recorded[0]


def polled(ready: Callable[[], Any], limit: float = 60) -> Any:
    """`ready()` asked every 0.2 s until it is truthy or `limit` seconds passed; its last value. (A
    drain would wait for the hanging request too.)"""
    deadline = time.monotonic() + limit
    while not (result := ready()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return result


def received(hooks: Receiver, path: str, ids: frozenset[str]) -> Callable[[], bool]:
    """Whether `path` has received every event of `ids`."""
    return lambda: {json.loads(r.body)["id"] for r in hooks.at(path)} >= ids


def marked_slow(stack: LocalRuntime, tenant: str, endpoint_id: str) -> bool:
    """The endpoint's health item says it is slow (delivery.py `_mark_slow`)."""
    item = (
        stack.client("dynamodb")
        .get_item(
            TableName=table_name(stack, "WebhooksTable"),
            Key={"pk": {"S": f"T#{tenant}#ENDPOINT_HEALTH#{endpoint_id}"}, "sk": {"S": "HEALTH"}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return "slow_until" in item
