"""A batch of `email.sent` events in the activities consumer: its events commit together, each once.

The consumer applies the events of one SQS batch whose handler allows it in one transaction
(shared/consumer.py, issue 18); a batch that cannot commit so (an event twice, a second event
about one message, an erased contact) falls back to one event at a time. Either way each message
becomes one marketing activity, counted once in the statistics, and a redelivered batch changes
nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.activities.test_marketing import sent_envelope
from tests.e2e.helpers import new_tenant, ok
from tests.lambda_events import sqs_record

CONSUMER = "ActivitiesConsumerFunction"
DAY = {"from": "2026-03-04", "to": "2026-03-04"}


def _batch(stack: LocalRuntime, envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    """The SQS batch the queue's event source mapping would hand the consumer, invoked directly."""
    assert stack.stack is not None
    arn = stack.stack.queues["ActivitiesEventsQueue"].arn
    records = [sqs_record({"source": "kontakt.email", "detail": e}, arn) for e in envelopes]
    result: dict[str, Any] = stack.invoke(CONSUMER, {"Records": records})
    return result


def _activities(user: Any, contact: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = user.get("/marketing-activities", params={"contact_id": contact}).json()["items"]
    return items


def test_a_batch_of_sent_mails_commits_each_once(api: Any, stack: LocalRuntime) -> None:
    tenant = new_tenant()
    user = api.as_(tenant, "u1", "admin")
    people = [f"C{n}" for n in range(1, 8)]

    # A clean batch: seven mails to seven people, one sender (the same counter cells for all).
    clean = [sent_envelope(tenant, "email.sent", f"M{n}", contact_id=p, sent_by="u1") for n, p in enumerate(people)]
    assert _batch(stack, clean) == {"batchItemFailures": []}
    assert user.get("/marketing-activities/stats", params=DAY).json()["counts"] == {"email": 7}
    assert all(len(_activities(user, p)) == 1 for p in people)

    # The same batch again, and a batch that cannot commit together: an event twice, a new event
    # about a message already recorded, a mail to an erased person, two new mails.
    assert _batch(stack, clean) == {"batchItemFailures": []}
    erased_id = str(uuid.uuid4())
    erased = {**clean[0], "id": erased_id, "correlation_id": erased_id, "type": "contact.erased", "data": {"id": "C9"}}
    assert _batch(stack, [erased]) == {"batchItemFailures": []}
    fresh = [sent_envelope(tenant, "email.sent", f"N{n}", contact_id=f"D{n}", sent_by="u1") for n in range(2)]
    mixed = [
        clean[1],
        clean[1],
        sent_envelope(tenant, "email.sent", "M2", contact_id="C3", sent_by="u1"),
        sent_envelope(tenant, "email.sent", "M9", contact_id="C9", sent_by="u1"),
        *fresh,
    ]
    assert _batch(stack, mixed) == {"batchItemFailures": []}

    assert user.get("/marketing-activities/stats", params=DAY).json()["counts"] == {"email": 9}
    by_user = user.get("/marketing-activities/stats", params={"group_by": "user", **DAY}).json()
    assert {r["key"]: r["total"] for r in by_user["rows"]} == {"u1": 9}
    assert all(len(_activities(user, p)) == 1 for p in [*people, "D0", "D1"])
    assert _activities(user, "C9") == []
    assert [a["source_id"] for a in _activities(user, "C3")] == ["M2"]


def test_mails_sent_after_a_zone_change_count_on_the_new_zones_day(api: Any, stack: LocalRuntime) -> None:
    """The consumer keeps the tenant's zone between batches (no read a batch); its transaction is
    conditioned on the setting it came from, so a zone saved meanwhile is read again, not missed."""
    tenant = new_tenant()
    admin, user = api.as_(tenant, "a1", "admin"), api.as_(tenant, "u1", "user")
    late = "2026-03-04T23:30:00Z"  # March 4th in UTC, March 5th 13:30 at UTC+14

    def mails(prefix: str, n: int) -> list[dict[str, Any]]:
        return [
            sent_envelope(tenant, "email.sent", f"{prefix}{i}", contact_id=f"{prefix}C{i}", sent_at=late)
            for i in range(n)
        ]

    for batch in range(3):  # each worker the runtime hands these to keeps the zone (UTC, the default)
        assert _batch(stack, mails(f"B{batch}", 2)) == {"batchItemFailures": []}
    assert ok(admin.put("/activity-settings", json={"time_zone": "Pacific/Kiritimati"}))["time_zone"]
    assert _batch(stack, mails("K", 2)) == {"batchItemFailures": []}  # together
    assert _batch(stack, mails("L", 1)) == {"batchItemFailures": []}  # alone

    def counts(day: str) -> dict[str, int]:
        stats = ok(user.get("/marketing-activities/stats", params={"from": day, "to": day}))
        counted: dict[str, int] = stats["counts"]
        return counted

    assert counts("2026-03-04") == {"email": 6}
    assert counts("2026-03-05") == {"email": 3}
    assert [a["source_id"] for a in _activities(user, "KC0")] == ["K0"]
