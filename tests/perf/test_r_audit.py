"""(r) The audit trail's consumer (issue 23 item 6): AWS calls per audited event, beside the
batching minimum, and events/s through the local stack.

Every Kontakt event on the bus reaches `AuditConsumerFunction`; each becomes one record. The
minimum per batch: the batch's tenants' retention settings in one BatchGetItem and its records in
one TransactWriteItems (100 items: each record, and one check per contact a record names). With
the template's SQS batches (BatchSize 100, a 5 s window) that is 2/100 calls per event in AWS;
the local pump hands a function at most 10 messages a batch (as SQS's ReceiveMessage gives), so
the minimum here is 2/10. Half the events name a contact (a check each): 10 events, 15 items, one
transaction.

Run: .venv/bin/pytest -s -p no:xdist tests/perf/test_r_audit.py
"""

from __future__ import annotations

import json
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
LOCAL_BATCH, AWS_BATCH = 10, 100  # the local pump's most per batch; template.yaml's BatchSize
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
        ("batching minimum per event (local)", f"{2 / LOCAL_BATCH:.3f}", "1 BatchGetItem + 1 TransactWriteItems / 10"),
        ("batching minimum per event (AWS)", f"{2 / AWS_BATCH:.3f}", "the same / 100 (BatchSize 100, 5 s window)"),
    ]
    rows += [(f"  {service} {operation}", f"{n / EVENTS:.3f}", "") for (service, operation), n in sorted(mine.items())]
    print(render("(r) audit trail: AWS calls per audited event", rows, header=("figure", "value", "unit / note")))
    FIGURES.add("r. audit", "consumer AWS calls per event", round(per_event, 3), "calls")
    FIGURES.add("r. audit", "batching minimum per event (local, AWS)", f"{2 / LOCAL_BATCH:.2f}, {2 / AWS_BATCH:.2f}")
    FIGURES.add("r. audit", "events/s end to end", round(EVENTS / took, 1), "per s")
    assert per_event < 1  # batched: far fewer calls than events
