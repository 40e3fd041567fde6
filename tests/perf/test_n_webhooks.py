"""(n) Webhook delivery through the local stack (issue 20): deliveries/s to a local receiver, the
latency event -> delivery (p50/p99) of a paced stream, AWS calls per delivery, and a receiver that
fails for a while then recovers: every event arrives, each as often as the schedule requires.

The stack is (h)'s `CountedRuntime` (every function's AWS calls counted), stage "dev" (loopback
http). The receiver is an HTTP server on 127.0.0.1 (tests/e2e/webhooks/receiver.py). Events are
`contact.created` envelopes put on the bus as the directory's publisher would; one endpoint of one
tenant (`contact.*`) receives them.
Counts: KONTAKT_PERF_WEBHOOK_EVENTS (default 300) for the throughput, 100 for the paced latency.

AWS calls per delivery are printed beside the batching minimum, per AWS service, as (h) and (m)
print theirs (`report_send`). The minimum per delivery, with the consumer's SQS batches of 10
events and the deliverer's of 5 messages (template.yaml):
- consumer: one TransactWriteItems for a batch's messages with every event's dedupe marker
  (10 events, one endpoint: 20 items, they fit), the tenant's enabled endpoints read once (a Query)
  and one SendMessageBatch per 10 messages: DynamoDB 2/10, SQS 1/10;
- deliverer: a batch's reads (messages, endpoints, health items) in one BatchGetItem, its claims in
  one write and its attempts' records in one write: DynamoDB 3/5.
So DynamoDB 0.2 + 0.6 = 0.8 and SQS 0.1: 0.9 calls per delivery.

Run: .venv/bin/pytest -s -p no:xdist tests/perf/test_n_webhooks.py
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts.directory import RecordChanged
from shared.events import Actor, new_event
from tests.e2e.helpers import bus_name
from tests.e2e.webhooks.receiver import Answer, Receiver, receiver

from .conftest import FIGURES, PROJECT_ROOT
from .test_h_campaign import Api, CountedRuntime, Send, SendingPath, peak_rss_mb, report_send

pytestmark = pytest.mark.perf

EVENTS = int(os.environ.get("KONTAKT_PERF_WEBHOOK_EVENTS", "300"))
PACED = 100
PACE_SECONDS = 0.1
RECOVERING = 20
TENANT = "perf-hooks"
DELIVERING = ("WebhooksConsumerFunction", "WebhooksDeliveryFunction")
DIRECTORY = Actor(type="service", id="directory")
CONSUMER_BATCH, DELIVERY_BATCH = 10, 5  # template.yaml's BatchSize of each function's queue
MINIMUM = {"dynamodb": 2 / CONSUMER_BATCH + 3 / DELIVERY_BATCH, "sqs": 1 / CONSUMER_BATCH}


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    runtime = CountedRuntime(PROJECT_ROOT, {}, stage="dev", port=0, concurrency=2, batching_window=0)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def put(stack: CountedRuntime, count: int, prefix: str) -> dict[str, float]:
    """`count` contact.created events on the bus, 10 a PutEvents; each event id -> when it was put."""
    put_at: dict[str, float] = {}
    events = stack.client("events")
    for start in range(0, count, 10):
        entries = []
        for n in range(start, min(count, start + 10)):
            record = {"id": f"{prefix}{n}", "first_name": "Maija", "version": 1}
            envelope = new_event(
                "contact.created", TENANT, RecordChanged(id=f"{prefix}{n}", record=record), actor=DIRECTORY
            )
            detail = envelope.model_dump(mode="json")
            entries.append(
                {
                    "Source": "kontakt.test",
                    "DetailType": "contact.created",
                    "Detail": json.dumps(detail),
                    "EventBusName": bus_name(stack),
                }
            )
            put_at[envelope.id] = time.time()
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    return put_at


def wait_for(hooks: Receiver, path: str, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while len(hooks.at(path)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(hooks.at(path)) >= count, f"{len(hooks.at(path))} of {count} delivered"


def calls(stack: CountedRuntime) -> Counter[tuple[str, str, str]]:
    return stack.log.snapshot()[0]


def test_webhook_deliveries(stack: CountedRuntime) -> None:
    admin = Api(stack, TENANT)
    with receiver() as hooks:
        admin.call("POST", "/webhooks/endpoints", 201, {"url": hooks.url("/in"), "event_types": ["contact.*"]})
        put(stack, 20, "W")  # warm-up: every function on the path starts cold once
        wait_for(hooks, "/in", 20)
        stack.drain(timeout=120)

        before, started = calls(stack), time.time()
        put_at = put(stack, EVENTS, "T")
        wait_for(hooks, "/in", 20 + EVENTS)
        took = max(r.at for r in hooks.at("/in")) - started
        stack.drain(timeout=120)
        spent = calls(stack) - before

        paced: dict[str, float] = {}
        for n in range(PACED):
            paced |= put(stack, 1, f"P{n}-")
            time.sleep(PACE_SECONDS)
        wait_for(hooks, "/in", 20 + EVENTS + PACED)
        latencies = sorted(
            r.at - paced[json.loads(r.body)["id"]] for r in hooks.at("/in") if json.loads(r.body)["id"] in paced
        )
        p50, p99 = statistics.median(latencies), latencies[min(len(latencies) - 1, round(0.99 * len(latencies)))]

    print(f"\n(n) webhooks: {EVENTS} events put at once -> delivered in {took:.1f} s: {EVENTS / took:.1f} deliveries/s")
    print(
        f"    paced {PACED} events every {PACE_SECONDS} s: event -> delivery"
        f" p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    report_send(
        Send("n. webhooks", "(n) webhook deliveries", "delivery", EVENTS, took, of="events", units="deliveries"),
        spent,
        SendingPath(DELIVERING, MINIMUM, "consumer 2/10 DynamoDB + 1/10 SQS, deliverer 3/5 DynamoDB", "the events'"),
        [peak_rss_mb(pid) for pid in stack.worker_pids("WebhooksDeliveryFunction")],
    )
    FIGURES.add("n. webhooks", "event -> delivery p50", round(p50 * 1000), "ms")
    FIGURES.add("n. webhooks", "event -> delivery p99", round(p99 * 1000), "ms")
    assert len(put_at) == EVENTS and p50 < 5


def test_a_receiver_that_recovers_gets_every_event_as_often_as_the_schedule_says(stack: CountedRuntime) -> None:
    admin = Api(stack, TENANT)
    with receiver() as hooks:
        hooks.answers["/flaky"] = Answer(503)
        admin.call("POST", "/webhooks/endpoints", 201, {"url": hooks.url("/flaky"), "event_types": ["contact.*"]})
        put_at = put(stack, RECOVERING, "R")
        wait_for(hooks, "/flaky", 2 * RECOVERING, timeout=120)  # attempts 1 and 2 (5 s later) failed
        hooks.answers["/flaky"] = Answer(200)  # it recovers; attempt 3 is due in ~5 min: the sweep, moved on
        queue = stack.stack.queues["WebhooksJobsQueue"] if stack.stack else None
        assert queue is not None
        moment = (datetime.now(UTC) + timedelta(minutes=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
        stack.client("sqs").send_message(
            QueueUrl=queue.url, MessageBody=json.dumps({"job": "webhooks.sweep", "scheduled_time": moment})
        )
        wait_for(hooks, "/flaky", 3 * RECOVERING, timeout=120)
        time.sleep(3)
        by_id = Counter(r.headers["webhook-id"] for r in hooks.at("/flaky"))
        delivered_events = {json.loads(r.body)["id"] for r in hooks.at("/flaky")}
    print(
        f"\n    recovering receiver: {len(delivered_events)} of {RECOVERING} events,"
        f" requests per message {sorted(set(by_id.values()))}"
    )
    FIGURES.add("n. webhooks", "recovering receiver: requests per message", "3 (2 failed, 1 delivered)")
    assert delivered_events == set(put_at) and set(by_id.values()) == {3}
