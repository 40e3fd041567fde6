"""(r) The audit trail's consumer (issue 23 item 6): AWS calls per audited event, beside the
batching minimum, and events/s through the local stack.

Every Kontakt event on the bus reaches `AuditConsumerFunction`; each becomes one record. The
minimum per batch: the batch's tenants' retention settings in one BatchGetItem and its records in
TransactWriteItems of at most 100 items (each record, and one check per contact a record names).
The template's SQS batches are BatchSize 100 with a 5 s window, which the local pump fills as
Lambda's poller does (several receives of at most 10). Half the events name a contact (a check
each): 100 events are 150 items, two transactions, so the minimum is 3 calls per 100 events.

Run: .venv/bin/pytest -s -p no:xdist tests/perf/test_r_audit.py
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from shared.contracts.directory import RecordChanged
from shared.events import Actor, Change, new_event
from tests.e2e.helpers import bus_name

from .conftest import FIGURES, PROJECT_ROOT, render
from .test_h_campaign import CountedRuntime

pytestmark = pytest.mark.perf

EVENTS = int(os.environ.get("KONTAKT_PERF_AUDIT_EVENTS", "500"))
TENANT = "perf-audit"
CONSUMER = "AuditConsumerFunction"
BATCH = 100  # template.yaml's BatchSize, in AWS and under `kontakt dev`
TRANSACTION_ITEMS = 100  # DynamoDB's most per TransactWriteItems
MINIMUM = (1 + math.ceil(BATCH * 1.5 / TRANSACTION_ITEMS)) / BATCH  # 1 BatchGetItem + the transactions
ACTOR = Actor(type="user", id="perf-auditor")


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    runtime = CountedRuntime(PROJECT_ROOT, {}, stage="dev", port=0, concurrency=2)  # the template's windows
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def put(stack: CountedRuntime, count: int, prefix: str) -> None:
    """`count` updates on the bus, 10 a PutEvents: accounts and contacts by turns."""
    events = stack.client("events")
    for start in range(0, count, 10):
        entries = []
        for n in range(start, min(count, start + 10)):
            kind = "contact" if n % 2 else "account"
            payload = RecordChanged(id=f"{prefix}{n}", record={"id": f"{prefix}{n}", "version": 2}, changed=["name"])
            changes = [Change(field="name", old=f"old {n}", new=f"new {n}")]
            envelope = new_event(f"{kind}.updated", TENANT, payload, actor=ACTOR, changes=changes)
            detail = json.dumps(envelope.model_dump(mode="json"))
            entries.append(
                {
                    "Source": "kontakt.test",
                    "DetailType": envelope.type,
                    "Detail": detail,
                    "EventBusName": bus_name(stack),
                }
            )
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0


def recorded(stack: CountedRuntime) -> int:
    """The audit records of the benchmark's actor (its `by_actor` partition)."""
    assert stack.stack is not None
    table = stack.stack.tables["AuditTable"].name
    pages = (
        stack.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=table,
            IndexName="by_actor",
            KeyConditionExpression="gsi2pk = :k",
            ExpressionAttributeValues={":k": {"S": f"T#{TENANT}#ACTOR#{ACTOR.id}"}},
            Select="COUNT",
        )
    )
    return sum(page["Count"] for page in pages)


def wait_for(stack: CountedRuntime, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while recorded(stack) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert recorded(stack) == count


def test_audit_records_per_event(stack: CountedRuntime) -> None:
    put(stack, 20, "W")  # warm-up: the consumer starts cold once
    wait_for(stack, 20)
    stack.drain(timeout=120)
    before, started = stack.log.snapshot()[0], time.time()
    put(stack, EVENTS, "T")
    wait_for(stack, 20 + EVENTS)
    took = time.time() - started
    stack.drain(timeout=120)
    spent: Counter[tuple[str, str, str]] = stack.log.snapshot()[0] - before
    mine = Counter(
        {(service, operation): n for (function, service, operation), n in spent.items() if function == CONSUMER}
    )
    per_event = sum(mine.values()) / EVENTS
    rows: list[tuple[str, ...]] = [
        ("events audited", f"{EVENTS:,}", ""),
        ("events/s end to end", f"{EVENTS / took:,.1f}", "per s (put -> record)"),
        ("consumer AWS calls per event", f"{per_event:.3f}", CONSUMER),
        ("batching minimum per event", f"{MINIMUM:.3f}", "1 BatchGetItem + 2 TransactWriteItems / 100 events"),
    ]
    rows += [(f"  {service} {operation}", f"{n / EVENTS:.3f}", "") for (service, operation), n in sorted(mine.items())]
    print(render("(r) audit trail: AWS calls per audited event", rows, header=("figure", "value", "unit / note")))
    FIGURES.add("r. audit", "consumer AWS calls per event", round(per_event, 3), "calls")
    FIGURES.add("r. audit", "batching minimum per event", round(MINIMUM, 3), "calls")
    FIGURES.add("r. audit", "events/s end to end", round(EVENTS / took, 1), "per s")
    assert per_event < 1  # batched: far fewer calls than events
