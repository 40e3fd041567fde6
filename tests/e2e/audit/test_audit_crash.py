"""The audit consumer survives a crash in the middle of a batch: nothing lost, nothing twice.

Its transactions are cut to two items here (`TRANSACTION_ITEMS`), so a batch of several events
takes several TransactWriteItems; the local runtime kills its process once, just after the first
of them committed (infra/faults.py). The queue delivers the batch again (its visibility timeout cut
to a second): the records already written refuse their put-if-absent, the others are written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import bus_name, poll_until, quick_redelivery, walk

CONSUMER = "AuditConsumerFunction"
EVENTS = 8


@pytest.fixture(scope="module", autouse=True)
def _quick_redelivery(stack: LocalRuntime) -> Iterator[None]:
    with quick_redelivery(stack, "kontakt-dev-audit-events"):
        yield


def test_a_crash_between_two_transactions_of_a_batch_loses_and_duplicates_nothing(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    assert stack.functions is not None
    stack.drain()
    ids = [f"01JAUDITCRASH{i:013d}" for i in range(EVENTS)]
    entries = [
        {
            "Source": "kontakt.test",
            "DetailType": "account.updated",
            "EventBusName": bus_name(stack),
            "Detail": json.dumps(
                {
                    "id": event_id,
                    "type": "account.updated",
                    "tenant_id": tenant,
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "actor": {"type": "user", "id": "admin-1"},
                    "correlation_id": "crash",
                    "data": {"id": "crash-account", "record": {}},
                    "changes": [{"field": "name", "old": f"v{i}", "new": f"v{i + 1}"}],
                }
            ),
        }
        for i, event_id in enumerate(ids)
    ]
    crash = Fault("dynamodb", "TransactWriteItems", "after")
    with stack.functions.configured(CONSUMER, environment={"TRANSACTION_ITEMS": "2"}, faults=[crash]) as (armed,):
        assert stack.client("events").put_events(Entries=entries)["FailedEntryCount"] == 0  # one batch
        trail = lambda: walk(admin, "/audit", limit=50, entity_type="account", entity_id="crash-account")  # noqa: E731
        poll_until(lambda: armed.fired and len(trail()) >= EVENTS)
        stack.drain()
        assert armed.fired  # the consumer did die after a transaction
    records = trail()
    assert sorted(r["id"] for r in records) == ids  # each once
    assert {r["changes"][0]["new"] for r in records} == {f"v{i + 1}" for i in range(EVENTS)}
