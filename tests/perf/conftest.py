"""Benchmarks: shared runtime, seeding, item counting, timing and the final summary table.

Files run in name order (a, b, cd), so the gateway is measured before the table is seeded.

The figures are printed (run with `pytest -s tests/perf`, or `make perf`) and collected in one
table at the end of the session. Tests assert only loose sanity bounds: the numbers depend on
the machine and on moto, which answers every index Query by looking at every item of the table
(so wall-clock figures on large tables measure the emulator; item counts measure the design).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from infra.runtime import LocalRuntime
from infra.template import REGION

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PERF_TENANT = "perf"
BATCH = 25  # BatchWriteItem's limit
SEED_THREADS = 4
OWNERS = [f"perf-user-{i:02d}" for i in range(20)]  # contacts are spread over 20 owners
NORTH_EVERY = 10  # every 10th contact is in region "north": a condition that matches ~10%


# ----------------------------------------------------------------------------- figures


@dataclass
class Figure:
    section: str
    name: str
    value: float | str
    unit: str = ""


@dataclass
class Figures:
    rows: list[Figure] = field(default_factory=list)

    def add(self, section: str, name: str, value: float | str, unit: str = "") -> None:
        self.rows.append(Figure(section, name, value, unit))

    def table(self, title: str = "Kontakt benchmarks") -> str:
        return render(title, [(f.section, f.name, fmt(f.value), f.unit) for f in self.rows])


FIGURES = Figures()


def fmt(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"


def render(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...] = ("", "figure", "value", "unit")) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"

    def row(cells: tuple[str, ...]) -> str:
        parts = [str(c).rjust(w) if _numeric(c) else str(c).ljust(w) for c, w in zip(cells, widths, strict=True)]
        return "| " + " | ".join(parts) + " |"

    return "\n".join([f"\n{title}", line, row(header), line, *[row(r) for r in rows], line])


def _numeric(cell: object) -> bool:
    return str(cell).replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES.rows:
        terminalreporter.write_line(FIGURES.table("Kontakt benchmarks: summary"))


# ----------------------------------------------------------------------------- timing


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


Started = TypeVar("Started", bound=LocalRuntime)


@contextmanager
def started(runtime: Started) -> Iterator[Started]:
    """A runtime running for the block, stopped however it ends."""
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """`with stopwatch() as elapsed: ...; elapsed()` -> seconds since entering."""
    started = time.perf_counter()
    yield lambda: time.perf_counter() - started


# ----------------------------------------------------------------------------- the runtime


@pytest.fixture(scope="session")
def runtime() -> Iterator[LocalRuntime]:
    """The whole stack, as `kontakt dev` runs it, with two workers per function (2 cores)."""
    rt = LocalRuntime(PROJECT_ROOT, stage="perf", port=0, concurrency=2)
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()


@pytest.fixture(scope="session")
def directory_table(runtime: LocalRuntime) -> str:
    assert runtime.stack is not None
    return runtime.stack.tables["DirectoryTable"].name


@contextmanager
def acting_as(runtime: LocalRuntime, function_id: str, table_id: str) -> Iterator[str]:
    """This process acts as one of the template's functions: its environment, its table, the emulator."""
    from shared import secrets, settings
    from shared.store import TableItem, bind_table

    assert runtime.stack is not None
    env = {
        **runtime.stack.functions[function_id].environment,
        "AWS_ENDPOINT_URL": runtime.aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    saved = {name: os.environ.get(name) for name in env}
    bound = TableItem.Meta.table_name
    os.environ.update(env)
    settings.load.cache_clear()
    secrets.signing_key.cache_clear()
    secrets.link_keys.cache_clear()
    table = runtime.stack.tables[table_id].name
    bind_table(table)
    try:
        yield table
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.load.cache_clear()
        secrets.signing_key.cache_clear()
        secrets.link_keys.cache_clear()
        if bound:
            bind_table(bound)


@pytest.fixture(scope="session")
def in_process(runtime: LocalRuntime, directory_table: str) -> Iterator[str]:
    """This process talks to the runtime's emulator, as the directory functions do."""
    with acting_as(runtime, "DirectoryApiFunction", "DirectoryTable") as table:
        yield table


def caller(tenant: str, user: str, role: str = "admin", groups: tuple[str, ...] = ()) -> Any:
    """A directory Caller, as the API handler builds it for a request."""
    from services.directory.service import Caller
    from services.directory.store import DirectoryStore
    from shared.auth import AuthContext, Role
    from shared.secrets import signing_key
    from shared.service import ensure_tenant

    auth = AuthContext(tenant_id=tenant, user_id=user, role=Role(role), groups=groups)
    current = Caller(auth=auth, store=DirectoryStore(), signing_key=signing_key())
    ensure_tenant(current)
    return current


# ----------------------------------------------------------------------------- seeding


def contact_record(tenant: str, sequence: int) -> Any:
    """The item the store writes for a contact (`new_record`), so every index key is right."""
    from services.directory.domain.models import Contact, Owner
    from services.directory.store import Placement, new_record
    from shared.ids import new_id

    now = datetime.now(UTC)
    owner = OWNERS[sequence % len(OWNERS)]
    contact = Contact(
        id=new_id(),
        number=f"CON-{1001 + sequence}",
        first_name=f"First{sequence}",
        last_name=f"Last{sequence}",
        email=f"contact{sequence}@perf.example",
        mobile=f"+35840{sequence:07d}",
        region="north" if sequence % NORTH_EVERY == 0 else ("south", "east", "west")[sequence % 3],
        job_title=("ceo", "manager", "sales", "specialist")[sequence % 4],
        category="customer",
        groups=["newsletter"] if sequence % 2 else [],
        sales_status="lead",
        owner=Owner(type="user", id=owner),
        created_at=now,
        updated_at=now,
    )
    data = contact.model_dump(mode="json", exclude={"version"})
    record = new_record(tenant, "contact", contact.id, data, Placement(owner_id=owner))
    record.version = 1
    return record


@dataclass
class Population:
    """Contacts seeded straight into the directory table of one tenant."""

    runtime: LocalRuntime
    table: str
    tenant: str = PERF_TENANT
    count: int = 0
    seed_seconds: float = 0.0
    north_group: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def grow_to(self, total: int) -> tuple[int, float]:
        """Seed contacts until the tenant has `total`; returns (how many were added, seconds)."""
        missing = total - self.count
        if missing <= 0:
            return 0, 0.0
        with stopwatch() as elapsed:
            seed(self.runtime, self.table, self.tenant, self.count, missing)
        self.count = total
        self.seed_seconds += elapsed()
        return missing, elapsed()


def seed(runtime: LocalRuntime, table: str, tenant: str, start: int, count: int) -> None:
    """BatchWriteItem in batches of 25 from a few threads, retrying unprocessed items."""
    client = runtime.client("dynamodb")

    def write(first: int) -> None:
        last = min(first + BATCH, start + count)
        requests = [{"PutRequest": {"Item": contact_record(tenant, n).serialize()}} for n in range(first, last)]
        while requests:
            response = client.batch_write_item(RequestItems={table: requests})
            requests = response.get("UnprocessedItems", {}).get(table, [])

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(write, range(start, start + count, BATCH)))


@pytest.fixture(scope="session")
def population(runtime: LocalRuntime, directory_table: str, in_process: str) -> Population:
    """The perf tenant, its settings and a dynamic group (region == "north"), before any seeding.

    Writes go first: moto's transactions slow down (and time out) on a large table.
    """
    from services.directory import target_groups
    from services.directory.domain.conditions import TargetGroupCreate

    body = TargetGroupCreate.model_validate(
        {"name": "North", "conditions": [{"field": "region", "op": "equals", "value": "north"}]}
    )
    group = target_groups.create(caller(PERF_TENANT, "perf-admin"), body)
    return Population(runtime, directory_table, north_group=group)


# ----------------------------------------------------------------------------- counting items read


class ItemsRead:
    """Counts the items DynamoDB returned to this process's pynamodb client (per operation)."""

    def __init__(self) -> None:
        self.items = 0
        self.scanned = 0
        self.calls: dict[str, int] = {}

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        self.calls[operation] = self.calls.get(operation, 0) + 1
        if operation in ("Query", "Scan"):
            self.items += int(parsed.get("Count", 0))
            self.scanned += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif operation == "GetItem":
            found = 1 if parsed.get("Item") else 0
            self.items += found
            self.scanned += found
        elif operation == "BatchGetItem":
            found = sum(len(v) for v in (parsed.get("Responses") or {}).values())
            self.items += found
            self.scanned += found


@contextmanager
def count_items_read() -> Iterator[ItemsRead]:
    """Hooks `after-call` of the botocore client pynamodb's Record model uses."""
    from services.directory.store import Record

    client = Record._get_connection().connection.client
    counter = ItemsRead()
    client.meta.events.register("after-call.dynamodb.*", counter, unique_id="perf-items-read")
    try:
        yield counter
    finally:
        client.meta.events.unregister("after-call.dynamodb.*", unique_id="perf-items-read")
