"""(c) Target-group resolution and (d) items read per GET /contacts, as the contacts table grows.

Contacts are seeded straight into the directory table (the item `new_record` builds, so the
index keys are the store's), in one tenant, growing from the first size to the next. Sizes come
from KONTAKT_PERF_SIZES (default "2000,10000"). moto stores only ~200 items/s on this 2-core
machine (100,000 contacts take ~8 minutes to seed alone) and every index Query page costs it a
pass over (and a sort of) the whole table, so resolving 10,000 contacts takes minutes. Larger
runs: `KONTAKT_PERF_SIZES=10000,100000 make perf`. The end to end resolution runs up to
KONTAKT_PERF_E2E_MAX contacts (default 2,000): beyond that the consumer function's 120 s timeout
is hit on moto.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import pytest

from infra.runtime import LocalRuntime

from .conftest import (
    FIGURES,
    NORTH_EVERY,
    OWNERS,
    PERF_TENANT,
    Population,
    caller,
    count_items_read,
    render,
    stopwatch,
)

pytestmark = pytest.mark.perf

SIZES = [int(s) for s in os.environ.get("KONTAKT_PERF_SIZES", "2000,10000").split(",") if s.strip()]
LIST_LIMIT = 50
END_TO_END_TIMEOUT = 110  # below the consumer function's 120 s timeout
END_TO_END_MAX_SIZE = int(os.environ.get("KONTAKT_PERF_E2E_MAX", "2000"))


@pytest.fixture(scope="module", params=SIZES, ids=[f"{s:_}" for s in SIZES])
def size(request: pytest.FixtureRequest, population: Population) -> int:
    """The tenant holds this many contacts (pytest runs every test of one size before the next)."""
    total: int = request.param
    added, seconds = population.grow_to(total)
    if added:
        rate = added / seconds
        print(f"\nseeded {added:,} contacts in {seconds:.1f} s ({rate:,.0f} items/s); tenant now holds {total:,}")
        FIGURES.add("c. seeding", f"BatchWriteItem to {total:,}", round(rate), "items/s")
    return total


@pytest.fixture(scope="module")
def north_group(population: Population) -> Any:
    """A dynamic target group: contacts in region "north" (every 10th contact)."""
    return population.north_group


def test_items_read_per_contact_list_request(size: int) -> None:
    """(d) GET /contacts?limit=50, in-process: items DynamoDB returned for the request."""
    from services.directory import accounts

    user = OWNERS[3]
    callers = {
        "admin (by_type index)": caller(PERF_TENANT, "perf-admin", "admin"),
        f"user owning 1/{len(OWNERS)} (by_owner merge)": caller(PERF_TENANT, user, "user", ("perf-team",)),
    }
    rows = []
    for label, who in callers.items():
        with count_items_read() as counter, stopwatch() as elapsed:
            first = accounts.list_contacts(who, None, LIST_LIMIT, None)
        assert len(first.items) == LIST_LIMIT and first.next_cursor
        with count_items_read() as second_counter:
            second = accounts.list_contacts(who, first.next_cursor, LIST_LIMIT, None)
        assert len(second.items) == LIST_LIMIT
        rows.append(
            (
                label,
                str(counter.items),
                str(second_counter.items),
                f"{elapsed() * 1000:,.0f}",
                json.dumps(counter.calls),
            )
        )
        FIGURES.add("d. GET /contacts", f"items read, {label}, {size:,}", counter.items, "items")
        # Bounded by the page, not the table: limit+1 per index queried (+ settings/group reads).
        assert counter.items <= 3 * (LIST_LIMIT + 1) + 10, counter.calls
    print(
        render(
            f"(d) GET /contacts?limit={LIST_LIMIT} with {size:,} contacts in the tenant",
            rows,
            header=("caller", "items read (page 1)", "items read (page 2)", "ms on moto", "calls"),
        )
    )


def test_resolution_in_process(size: int, north_group: Any) -> None:
    """(c-i) Resolver over the group in this process: members/s and items read per member."""
    from services.directory.target_groups import Resolver

    who = caller(PERF_TENANT, "service:directory")
    resolver = Resolver(who, north_group)
    with stopwatch() as elapsed:
        members = sum(1 for _ in resolver.members())
    seconds = elapsed()
    assert members == size // NORTH_EVERY
    per_member = resolver.items_read / members
    rate = members / seconds
    print(
        render(
            f"(c-i) in-process resolution of region == north over {size:,} contacts",
            [
                ("members", f"{members:,}", ""),
                ("items read", f"{resolver.items_read:,}", ""),
                ("items read per member", f"{per_member:.1f}", ""),
                ("time", f"{seconds:.1f}", "s"),
                ("members resolved", f"{rate:,.0f}", "per s"),
                ("contacts scanned", f"{resolver.items_read / seconds:,.0f}", "per s"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("c. resolution in-process", f"members/s at {size:,}", round(rate), "per s")
    FIGURES.add("c. resolution in-process", f"items read per member at {size:,}", round(per_member, 1), "")
    assert per_member <= NORTH_EVERY + 1


def test_resolution_end_to_end(size: int, north_group: Any, runtime: LocalRuntime) -> None:
    """(c-ii) `audience.requested` on the bus until the last `audience.page` shows up."""
    from shared.contracts.audience import AudienceRequested
    from shared.events import Actor, new_event

    if size > END_TO_END_MAX_SIZE:
        pytest.skip(f"end to end only up to {END_TO_END_MAX_SIZE:,} contacts (KONTAKT_PERF_E2E_MAX)")
    assert runtime.stack is not None
    runtime.drain(300)  # the seeded items' stream records are filtered out first
    request_id = f"perf-{uuid.uuid4().hex[:8]}"
    envelope = new_event(
        "audience.requested",
        PERF_TENANT,
        AudienceRequested(request_id=request_id, requester="email", target_group_id=north_group.id, fields=["email"]),
        actor=Actor(type="service", id="email"),
    )
    bus = next(iter(runtime.stack.buses.values())).name
    events = runtime.client("events")
    with stopwatch() as elapsed:
        response = events.put_events(
            Entries=[
                {
                    "Source": "kontakt.email",
                    "DetailType": "audience.requested",
                    "Detail": envelope.model_dump_json(),
                    "EventBusName": bus,
                }
            ]
        )
        assert response["FailedEntryCount"] == 0
        last = _wait_for_last_page(runtime, request_id, END_TO_END_TIMEOUT)
    seconds = elapsed()
    total = last["total_members"]
    assert total == size // NORTH_EVERY
    rate = total / seconds
    print(
        render(
            f"(c-ii) end to end over {size:,} contacts: put_events -> consumer -> outbox -> bus -> last page",
            [
                ("members", f"{total:,}", ""),
                ("pages", str(last["page"]), ""),
                ("time", f"{seconds:.1f}", "s"),
                ("members resolved", f"{rate:,.0f}", "per s"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("c. resolution end to end", f"members/s at {size:,}", round(rate), "per s")


def _wait_for_last_page(runtime: LocalRuntime, request_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in runtime.events(None):
            detail = event.get("detail") or {}
            data = detail.get("data") or {}
            if event.get("detail-type") == "audience.page" and data.get("request_id") == request_id and data["last"]:
                return dict(data)
        time.sleep(0.2)
    raise AssertionError(f"no last audience.page for {request_id} within {timeout} s")
