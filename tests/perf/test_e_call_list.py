"""(e) The call list: DynamoDB items read per page and median latency of GET /call-list as contacts grow.

Call-list rows (the projection the activities service keeps from the directory's events) are
seeded straight into the activities table with the service's own row builder
(`call_list.rows.new_row`, so every index key is the service's), in one tenant, growing from one size
to the next. Sizes come from KONTAKT_PERF_SIZES (default "2000,10000"; the issue's figures:
`KONTAKT_PERF_SIZES=10000,100000 .venv/bin/pytest -s tests/perf/test_e_call_list.py`).

Items read are counted in this process on the pynamodb client (`Count` of every Query, GetItem
and BatchGetItem answer) while it runs the same `list_rows` the API runs. Latency is measured
through the local gateway (HTTP, token check, the API function's worker): on moto an index Query
looks at every item of the table, so wall-clock figures at large sizes measure the emulator,
while items read measure the design. The filtered list goes through the gateway only up to
KONTAKT_PERF_CALL_LIST_FILTERED_MAX rows (default 10,000: see FILTERED_GATEWAY_MAX).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from infra.runtime import LocalRuntime

from .conftest import BATCH, FIGURES, NORTH_EVERY, OWNERS, SEED_THREADS, ItemsRead, acting_as, median, render, stopwatch

pytestmark = pytest.mark.perf

SIZES = [int(s) for s in os.environ.get("KONTAKT_PERF_SIZES", "2000,10000").split(",") if s.strip()]
TENANT = "perf-call-list"
LIMIT = 50
ACCOUNTS = 200  # contacts are spread over this many accounts
PASSIVE_EVERY = 20  # every 20th contact (n % 20 == 7) is passive: never listed, never read
NO_EVENT_EVERY = 3  # every 3rd contact has no event yet
REQUESTS = 15  # timed gateway requests per list and size
# On moto every Query is a pass over the whole table (~7 s at 100,000 items), so a filtered page
# (2-4 Queries) passes the API function's 30 s timeout beyond this size; items read are measured
# in-process at every size.
FILTERED_GATEWAY_MAX = int(os.environ.get("KONTAKT_PERF_CALL_LIST_FILTERED_MAX", "10000"))
GROUP_ID = "north"
TYPES = ("call", "meeting", "customer_visit")


@pytest.fixture(scope="module")
def activities_table(runtime: LocalRuntime) -> Iterator[str]:
    """This process acts as the activities API function (its environment, its table)."""
    from services.activities import features  # noqa: F401  (models imported before binding, as in a handler)

    with acting_as(runtime, "ActivitiesApiFunction", "ActivitiesTable") as table:
        yield table


# ----------------------------------------------------------------------------- seeding


def account_row(n: int) -> Any:
    from services.activities.call_list import rows

    record = {
        "id": f"A{n:05d}",
        "number": f"ACC-{1001 + n}",
        "name": f"Account {n}",
        "status": ("active", "prospect", "passive", "ceased")[n % 4],
        "account_manager_id": OWNERS[n % len(OWNERS)],
        "owner": {"type": "user", "id": OWNERS[n % len(OWNERS)]},
        "classes": ["spring"] if n % 2 else [],
        "created_at": "2026-01-01T00:00:00.000Z",
    }
    data = {"announced": True, "record": record, "record_version": 1, "latest": latest(n, "A")}
    return rows.new_row(TENANT, "account", f"A{n:05d}", data)


def latest(n: int, prefix: str) -> dict[str, Any] | None:
    if n % NO_EVENT_EVERY == 0:
        return None
    rng = random.Random(n)
    day, hour = rng.randrange(1, 365), rng.randrange(8, 17)
    start = f"2026-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}T{hour:02d}:00:00.000Z"
    return {"id": f"E{prefix}{n:07d}", "type": TYPES[n % 3], "subject": f"Call {n}", "start": start, "owner_id": "u1"}


def contact_row(n: int) -> Any:
    from services.activities.call_list import rows

    account = n % ACCOUNTS
    owner = OWNERS[n % len(OWNERS)]
    record = {
        "id": f"C{n:07d}",
        "number": f"CON-{1001 + n}",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "email": f"contact{n}@perf.example",
        "mobile": f"+35840{n:07d}",
        "account_id": f"A{account:05d}",
        "active": n % PASSIVE_EVERY != 7,
        "region": "north" if n % NORTH_EVERY == 0 else ("south", "east", "west")[n % 3],
        "owner": {"type": "user", "id": owner},
        "classes": [],
        "created_at": "2026-01-01T00:00:00.000Z",
    }
    account_record = {
        "id": f"A{account:05d}",
        "name": f"Account {account}",
        "status": ("active", "prospect", "passive", "ceased")[account % 4],
        "account_manager_id": OWNERS[account % len(OWNERS)],
        "classes": ["spring"] if account % 2 else [],
    }
    data = {
        "announced": True,
        "record": record,
        "record_version": 1,
        "account": account_record,
        "account_version": 1,
        "latest": latest(n, "C"),
    }
    return rows.new_row(TENANT, "contact", f"C{n:07d}", data)


def write_rows(runtime: LocalRuntime, table: str, build: Any, start: int, count: int) -> None:
    """BatchWriteItem in batches of 25 from a few threads, retrying unprocessed items."""
    client = runtime.client("dynamodb")

    def write(first: int) -> None:
        last = min(first + BATCH, start + count)
        requests_ = [{"PutRequest": {"Item": build(n).serialize()}} for n in range(first, last)]
        while requests_:
            response = client.batch_write_item(RequestItems={table: requests_})
            requests_ = response.get("UnprocessedItems", {}).get(table, [])

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(write, range(start, start + count, BATCH)))


@dataclass
class Rows:
    runtime: LocalRuntime
    table: str
    count: int = 0

    def grow_to(self, total: int) -> tuple[int, float]:
        missing = total - self.count
        if missing <= 0:
            return 0, 0.0
        with stopwatch() as elapsed:
            write_rows(self.runtime, self.table, contact_row, self.count, missing)
        self.count = total
        return missing, elapsed()


@pytest.fixture(scope="module")
def call_list_rows(runtime: LocalRuntime, activities_table: str) -> Rows:
    """The tenant's accounts, its class map and a target group (region == north), before any contact."""
    from services.activities.call_list import index
    from services.activities.store import new_record
    from shared.store import UnitOfWork

    write_rows(runtime, activities_table, account_row, 0, ACCOUNTS)
    uow = UnitOfWork()
    classes = {"spring": {"type": "mailing", "at": "2026-01-01T00:00:00+00:00"}}
    uow.save(new_record(TENANT, index.CLASSES, "all", {"classes": classes}))
    rule = {"conditions": [{"field": "region", "op": "equals", "value": "north"}], "match": "all"}
    uow.save(new_record(TENANT, index.GROUP, GROUP_ID, {**rule, "at": "2026-01-01T00:00:00+00:00"}))
    uow.commit()
    return Rows(runtime, activities_table)


@pytest.fixture(scope="module", params=SIZES, ids=[f"{s:_}" for s in SIZES])
def size(request: pytest.FixtureRequest, call_list_rows: Rows) -> int:
    total: int = request.param
    added, seconds = call_list_rows.grow_to(total)
    if added:
        print(f"\nseeded {added:,} call-list rows in {seconds:.1f} s ({added / seconds:,.0f} items/s); now {total:,}")
    return total


# ----------------------------------------------------------------------------- measuring


@contextmanager
def count_items_read() -> Iterator[ItemsRead]:
    """Hooks `after-call` of the botocore client the activities Record model uses."""
    from services.activities.store import Record

    client = Record._get_connection().connection.client
    counter = ItemsRead()
    client.meta.events.register("after-call.dynamodb.*", counter, unique_id="perf-call-list-read")
    try:
        yield counter
    finally:
        client.meta.events.unregister("after-call.dynamodb.*", unique_id="perf-call-list-read")


def caller(user: str, role: str) -> Any:
    from services.activities.service import Caller
    from services.activities.store import ActivitiesStore
    from shared.auth import AuthContext, Role
    from shared.secrets import signing_key

    auth = AuthContext(tenant_id=TENANT, user_id=user, role=Role(role))
    return Caller(auth=auth, store=ActivitiesStore(), signing_key=signing_key())


LISTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "contacts, newest event first (admin)": ({"mode": "contacts"}, "perf-admin", "admin"),
    "contacts, by event type": ({"mode": "contacts", "sort": "latest_type", "order": "asc"}, "perf-admin", "admin"),
    "accounts limited to contacts, status prospect": (
        {"mode": "account_contacts", "statuses": ["prospect"]},
        "perf-admin",
        "admin",
    ),
    f"contacts in target group (1/{NORTH_EVERY} match)": (
        {"mode": "contacts", "target_group_id": GROUP_ID},
        "perf-admin",
        "admin",
    ),
    f"contacts of a user owning 1/{len(OWNERS)}": ({"mode": "contacts"}, OWNERS[3], "user"),
}


UNFILTERED = ("contacts, newest event first (admin)", "contacts, by event type")


def test_items_read_per_call_list_page(size: int) -> None:
    """(e-i) Items DynamoDB returned per page of 50, pages 1 and 2, in-process (the API's code)."""
    from services.activities.call_list import listing
    from services.activities.domain.call_list import CallListFilter

    rows: list[tuple[str, ...]] = []
    for label, (params, user, role) in LISTS.items():
        who = caller(user, role)
        flt = CallListFilter.model_validate(params)
        first_reading, second_reading = listing.Reading(), listing.Reading()
        with count_items_read() as first_read, stopwatch() as elapsed:
            first = listing.list_rows(who, flt, None, LIMIT, first_reading)
        with count_items_read() as second_read:
            second = listing.list_rows(who, flt, first.next_cursor, LIMIT, second_reading)
        assert first.items and first.next_cursor, label
        per_row = first_read.items / len(first.items)
        rows.append(
            (
                label,
                str(len(first.items)),
                str(first_read.items),
                str(first_reading.queries),
                f"{per_row:.2f}",
                str(second_read.items),
                str(len(second.items)),
                f"{elapsed() * 1000:,.0f}",
            )
        )
        FIGURES.add("e. GET /call-list", f"items read, page 1, {label}, {size:,}", first_read.items, "items")
        FIGURES.add("e. GET /call-list", f"items read per row, {label}, {size:,}", round(per_row, 2), "items")
        # Bounded by the page and the filter's share of rows, never by the table (+ group and class reads).
        assert first_read.items <= listing.MAX_READ + 5, first_read.calls
        if label in UNFILTERED:
            assert len(first.items) == LIMIT and first_read.items <= LIMIT + 1, first_read.calls
    print(
        render(
            f"(e-i) call list, limit={LIMIT}, {size:,} contacts ({ACCOUNTS} accounts) in the tenant",
            rows,
            header=(
                "list",
                "rows p1",
                "items read p1",
                "queries p1",
                "items per row",
                "items read p2",
                "rows p2",
                "ms in-process p1",
            ),
        )
    )


def test_call_list_latency_through_the_gateway(size: int, runtime: LocalRuntime) -> None:
    """(e-ii) Median latency of GET /call-list?limit=50 through the local gateway."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {runtime.token(TENANT, 'perf-admin', 'admin')}"
    rows: list[tuple[str, ...]] = []
    lists: dict[str, dict[str, Any]] = {"contacts, newest event first": {"mode": "contacts", "limit": LIMIT}}
    if size <= FILTERED_GATEWAY_MAX:
        lists[f"contacts in target group (1/{NORTH_EVERY})"] = {"mode": "contacts", "target_group_id": GROUP_ID}
    for label, params in lists.items():
        warm = session.get(f"{runtime.api_url}/call-list", params=params, timeout=120)
        assert warm.status_code == 200, warm.text
        assert warm.json()["items"]
        timings = []
        for _ in range(REQUESTS):
            with stopwatch() as elapsed:
                response = session.get(f"{runtime.api_url}/call-list", params=params, timeout=120)
            assert response.status_code == 200
            timings.append(elapsed() * 1000)
        rows.append((label, f"{median(timings):,.0f}", f"{max(timings):,.0f}"))
        FIGURES.add("e. GET /call-list", f"median ms, {label}, {size:,}", round(median(timings)), "ms")
        assert median(timings) < 60_000
    print(
        render(
            f"(e-ii) GET /call-list?limit={LIMIT} through the gateway, {size:,} contacts, {REQUESTS} requests",
            rows,
            header=("list", "median ms", "max ms"),
        )
    )
