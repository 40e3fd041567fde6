"""(f) Mass activities: activities made per second and AWS calls per activity for a large audience.

Synthetic `audience.page` events of 500 members are fed to the activities consumer's handler in
this process (through `apply_once`, so the dedupe check and marker are counted) against the
runtime's emulator; the directory's resolution speed is measured in (c). Every AWS call the
handler's clients make is counted with a botocore `before-call` hook. The runtime's stream pump
publishes the activities' events meanwhile, as it would in AWS.

Members: KONTAKT_PERF_MASS_MEMBERS (default 2,000; the issue's figure is for 10,000:
`KONTAKT_PERF_MASS_MEMBERS=10000 .venv/bin/pytest -s tests/perf/test_f_mass_activities.py`).

The call-list hook reads the rows of a page's contacts and accounts in bulk (BatchGetItem of 100)
before the chunks are staged, so the calls per activity are about 0.1: a BatchGetItem per 100 rows
or activities, a transaction per ~19 activities. The rate measures moto, which serves DynamoDB one
request at a time while the publisher drains the outbox.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.runtime import LocalRuntime

from .conftest import FIGURES, OWNERS, acting_as, render, stopwatch

pytestmark = pytest.mark.perf

MEMBERS = int(os.environ.get("KONTAKT_PERF_MASS_MEMBERS", "2000"))
TENANT = "perf-mass"
ACCOUNTS = 1000  # members spread over this many accounts
CONSUMER = "activities"


@pytest.fixture(scope="module")
def activities_table(runtime: LocalRuntime) -> Iterator[str]:
    """This process acts as the activities consumer function (its environment, its table)."""
    with acting_as(runtime, "ActivitiesConsumerFunction", "ActivitiesTable") as table:
        yield table


class AwsCalls:
    """Counts the API calls of the table's botocore clients, per operation, and the time spent in them."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.reads: Counter[str] = Counter()  # GetItem by the kind of record read
        self.seconds = 0.0
        self._started = 0.0

    def before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        self._started = time.perf_counter()

    def read(self, params: dict[str, Any], **_: Any) -> None:
        self.reads[str(params.get("Key", {}).get("sk", {}).get("S", "?")).split("#")[0]] += 1

    def after(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@contextmanager
def count_aws_calls() -> Iterator[AwsCalls]:
    """Hooks `before-call` on the client of every table model (each pynamodb model has its own)."""
    from shared.store import TableItem

    models: list[Any] = [TableItem]
    clients: dict[int, Any] = {}
    while models:
        model = models.pop()
        models.extend(model.__subclasses__())
        client = model._get_connection().connection.client
        clients[id(client)] = client
    counter = AwsCalls()
    for client in clients.values():
        client.meta.events.register("before-call.*.*", counter.before, unique_id="perf-aws-calls")
        client.meta.events.register("after-call.*.*", counter.after, unique_id="perf-aws-calls-done")
        client.meta.events.register("before-parameter-build.*.GetItem", counter.read, unique_id="perf-reads")
    try:
        yield counter
    finally:
        for client in clients.values():
            client.meta.events.unregister("before-call.*.*", unique_id="perf-aws-calls")
            client.meta.events.unregister("after-call.*.*", unique_id="perf-aws-calls-done")
            client.meta.events.unregister("before-parameter-build.*.GetItem", unique_id="perf-reads")


def _pages(request_id: str, members: int) -> list[Any]:
    """The audience pages the directory would send: 500 members each, the last one says so."""
    from shared.contracts.audience import PAGE_SIZE, AudienceMember, AudiencePage
    from shared.ids import new_id

    accounts = [new_id() for _ in range(ACCOUNTS)]
    everyone = [
        AudienceMember(contact_id=new_id(), account_id=accounts[n % ACCOUNTS], owner_id=OWNERS[n % len(OWNERS)])
        for n in range(members)
    ]
    chunks = [everyone[i : i + PAGE_SIZE] for i in range(0, members, PAGE_SIZE)]
    return [
        AudiencePage(
            request_id=request_id,
            requester="activities",
            target_group_id="perf-group",
            page=number,
            last=number == len(chunks),
            total_members=members if number == len(chunks) else None,
            members=chunk,
        )
        for number, chunk in enumerate(chunks, start=1)
    ]


def _envelope(page: Any) -> Any:
    from shared.events import Actor, new_event

    return new_event("audience.page", TENANT, page, actor=Actor(type="service", id="directory"))


def test_mass_activities_per_second_and_aws_calls_per_activity(activities_table: str) -> None:
    from services.activities import mass
    from services.activities.domain.mass import MassActivity
    from services.activities.handlers import consumer  # noqa: F401  (every feature's hooks, as in the function)
    from services.activities.service import service_caller
    from services.activities.subscriptions import handlers
    from shared.consumer import apply_once
    from shared.store import UnitOfWork

    caller = service_caller(TENANT)  # the tenant's defaults, installed before measuring
    now = datetime.now(UTC)
    definition = MassActivity.model_validate(
        {
            "id": "perf-mass-" + now.strftime("%Y%m%d%H%M%S"),
            "name": "Perf campaign",
            "target_group_id": "perf-group",
            "activity": {"type": "call", "subject": "Campaign call", "start_time": "09:00"},
            "owner": {"mode": "member_owner"},
            "schedule": {"mode": "now", "time_zone": "Europe/Helsinki"},
            "kind": "event",
            "created_by": "perf-admin",
            "created_at": now,
            "updated_at": now,
        }
    )
    uow = UnitOfWork()
    run = mass.new_run(TENANT, definition, now)  # the run's record, without asking the directory
    uow.save(run)
    uow.commit()
    pages = _pages(run.record_id, MEMBERS)
    handle = handlers()["audience.page"]

    with count_aws_calls() as counter, stopwatch() as elapsed:
        for page in pages:
            assert apply_once(CONSUMER, _envelope(page), handle)
    seconds = elapsed()

    progress = mass.run_progress(caller, mass.MassRun.model_validate({"id": run.record_id, **run.data}))
    assert progress.done and progress.activities == MEMBERS and progress.pages_seen == len(pages)
    sample = [m.contact_id for m in pages[-1].members[:50]]
    ids = [mass.activity_id(run.record_id, c) for c in sample]
    assert len(caller.store.get_many(TENANT, "activity", ids)) == len(ids)

    # One page delivered again under a new envelope id: found, nothing made twice.
    with count_aws_calls() as again, stopwatch() as again_elapsed:
        assert apply_once(CONSUMER, _envelope(pages[0]), handle)
    redelivered = mass.run_progress(caller, mass.MassRun.model_validate({"id": run.record_id, **run.data}))
    assert redelivered.activities == MEMBERS

    rate = MEMBERS / seconds
    per_activity = counter.total / MEMBERS
    writes = counter.calls.get("TransactWriteItems", 0)
    print(
        render(
            f"(f) mass activities: {MEMBERS:,} members in {len(pages)} audience pages, consumer handler in-process",
            [
                ("activities made", f"{rate:,.0f}", "per s"),
                ("time", f"{seconds:.1f}", "s"),
                ("AWS calls", f"{counter.total:,}", ""),
                ("AWS calls per activity", f"{per_activity:.3f}", ""),
                ("time waiting on AWS calls", f"{counter.seconds:.1f}", "s"),
                ("activities per transaction", f"{MEMBERS / max(writes, 1):.1f}", ""),
                ("calls by operation", ", ".join(f"{k} {v}" for k, v in sorted(counter.calls.items())), ""),
                ("GetItem by record read", ", ".join(f"{k} {v}" for k, v in counter.reads.most_common()), ""),
                ("redelivered page: AWS calls", f"{again.total}", f"({again_elapsed():.2f} s)"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("f. mass activities", f"activities/s at {MEMBERS:,} members", round(rate), "per s")
    FIGURES.add("f. mass activities", f"AWS calls per activity at {MEMBERS:,}", round(per_activity, 3), "calls")
    FIGURES.add("f. mass activities", "AWS calls for a redelivered page of 500", again.total, "calls")
    # Loose sanity bounds: batching must hold (far fewer calls than activities); moto is slow.
    assert per_activity < 4, counter.calls
    assert again.total < 40, again.calls
    assert rate > 5
