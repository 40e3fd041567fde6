"""(u) A duplicate scan as the scan function runs it (issue 24): records per second, AWS calls per
record against the minimum, peak memory, over KONTAKT_PERF_SCAN_CONTACTS contacts (default 5,000,
about a minute; the issue's 100,000 takes moto a while: it answers each index Query by looking at
every item of the table).

The contacts are tests/duplicates_data.py's labelled set (people entered two or three times with
real-world variations, different people sharing common names), written as the directory stores
them (BatchWriteItem). This process acts as DirectoryScanFunction (its environment, the directory
table in the emulator) and runs what the function does with the scan's message (`run_scan`): the
scan read page by page (SCAN_PAGE_RECORDS, the template's 1,000 a page, the progress updated after
each), matched in memory, the groups written with the scan's state.

The minimum: per page one Query and one UpdateItem (the progress a client sees); one
TransactWriteItems per `scan_groups_per_transaction` (90) groups, the last with the completion; and
a few calls per scan (the tenant and its settings' BatchGetItem, the scan's GetItem and its start's
UpdateItem, the rules' GetItem, the dismissals' Query, the latest pointer's GetItem). Peak memory:
the process's peak resident set (VmHWM, reset before the scan) less its resident set before: what the function's
MemorySize must hold beyond its start.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from tests.duplicates_data import people_records, quality
from tests.perf.test_f_mass_activities import count_aws_calls

from .conftest import BATCH, FIGURES, acting_as, caller, render, stopwatch

pytestmark = pytest.mark.perf

CONTACTS = int(os.environ.get("KONTAKT_PERF_SCAN_CONTACTS", "5000"))
TENANT = "perf-duplicates"


def _status(name: str) -> int:
    """A figure of /proc/self/status in kB (VmRSS, VmHWM)."""
    found = re.search(rf"{name}:\s+(\d+)", Path("/proc/self/status").read_text())
    assert found is not None
    return int(found.group(1))


def _seed(table: str) -> dict[str, int]:
    """The labelled contacts as directory items; returns record id -> person."""
    from services.directory.store import Placement, new_record

    data = people_records(CONTACTS)
    now = datetime.now(UTC).isoformat()
    items: list[dict[str, Any]] = []
    person: dict[str, int] = {}
    for n, contact in enumerate(data.records):
        record_id = contact["id"].replace("-", "x")  # an id of the API's pattern
        person[record_id] = data.person[contact["id"]]
        fields = {k: v for k, v in contact.items() if k != "id" and v is not None}
        body = {
            **fields,
            "id": record_id,
            "number": f"CON-{1001 + n}",
            "owner": {"type": "user", "id": "perf-admin"},
            "created_at": now,
            "updated_at": now,
        }
        record = new_record(TENANT, "contact", record_id, body, Placement(owner_id="perf-admin"))
        record.version = 1
        items.append({"PutRequest": {"Item": record.serialize()}})
    import boto3  # the emulator's endpoint from the environment `acting_as` set

    client = boto3.client("dynamodb")
    for first in range(0, len(items), BATCH):
        requests = items[first : first + BATCH]
        while requests:
            requests = (
                client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {}).get(table, [])
            )
    return person


def test_duplicate_scan_job_rate_calls_and_memory(runtime: LocalRuntime) -> None:
    with acting_as(runtime, "DirectoryScanFunction", "DirectoryTable") as table:
        from services.directory import duplicate_scans as scans
        from services.directory.identity import create_tenant
        from services.directory.settings import DirectorySettings
        from services.directory.store import DirectoryStore
        from shared.settings import load

        create_tenant(DirectoryStore(), TENANT)
        # seeded by a forked child: the 100,000 records it builds would leave this process's
        # allocator holding memory the scan then reuses, hiding the scan's peak
        with multiprocessing.get_context("fork").Pool(1) as pool:
            person = pool.apply(_seed, (table,))
        admin = caller(TENANT, "perf-admin")  # the tenant provisioned, its defaults installed before the count
        record = scans.new_scan(admin, "contacts")
        settings = load(DirectorySettings)

        Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here
        before = _status("VmRSS")
        cpu = time.process_time()
        with count_aws_calls() as counter, stopwatch() as elapsed:
            scans.run_scan_message({"job": scans.SCAN_JOB, "tenant_id": TENANT, "scan_id": record.record_id})
        seconds = elapsed()
        cpu = time.process_time() - cpu  # this process's (the function's) CPU, not the emulator's
        peak_mb = (_status("VmHWM") - before) / 1024

        scan = scans.get_scan(admin, record.record_id)
        listed = _stored_groups(scan.id, scan.attempt)
        first_page = scans.list_groups(admin, "contacts", None, 50)  # the API's list reads them

    truth = _true_pairs(person)
    found = quality([g.records for g in listed], truth)
    pages = -(-CONTACTS // settings.scan_page_records)
    writes = -(-len(listed) // settings.scan_groups_per_transaction) or 1
    fixed = 6  # the tenant, the scan's GetItem and start, the rules, the dismissals, the pointer
    minimum = (2 * pages + writes + fixed) / CONTACTS
    per_record = counter.total / CONTACTS
    rate = CONTACTS / seconds
    print(
        render(
            f"(u) a duplicate scan of {CONTACTS:,} contacts as the scan function runs it, in-process on moto",
            [
                ("groups found", f"{len(listed):,}", ""),
                ("precision / recall (pairs)", f"{found.precision:.4f} / {found.recall:.4f}", ""),
                ("records per second (wall, moto included)", f"{rate:,.0f}", "records/s"),
                ("records per CPU second of the function", f"{CONTACTS / cpu:,.0f}", "records/s"),
                ("AWS calls", f"{counter.total:,}", ""),
                ("AWS calls per record", f"{per_record:.5f}", "calls"),
                ("minimum per record", f"{minimum:.5f}", "calls"),
                ("calls by operation", ", ".join(f"{k} {v}" for k, v in sorted(counter.calls.items())), ""),
                ("time waiting on AWS calls", f"{counter.seconds:.1f}", "s"),
                ("peak memory of the scan (VmHWM over VmRSS before)", f"{peak_mb:,.0f}", "MB"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("u. duplicate scan job", f"records/s at {CONTACTS:,} contacts", round(rate), "records/s")
    FIGURES.add("u. duplicate scan job", "AWS calls per record", round(per_record, 5), "calls")
    FIGURES.add("u. duplicate scan job", "minimum per record", round(minimum, 5), "calls")
    FIGURES.add("u. duplicate scan job", "peak memory", round(peak_mb), "MB")
    assert (scan.state, scan.records_read, scan.groups_found) == ("completed", CONTACTS, len(listed)), scan
    assert [g.records for g in first_page.items] == [list(g.records) for g in listed[: len(first_page.items)]]
    # Loose bounds: a page costs two calls, the groups a transaction per 90, nothing per record.
    assert counter.calls.get("Query", 0) <= pages + 2, counter.calls
    assert counter.calls.get("TransactWriteItems", 0) == writes, counter.calls
    assert per_record <= 2 * minimum, counter.calls


def _stored_groups(scan_id: str, attempt: int) -> list[Any]:
    """The groups the scan wrote, read straight from its partition (`list_groups` would also read
    every record for the permission check: minutes on moto at 100,000 contacts)."""
    from services.directory.domain.duplicates import StoredGroup
    from services.directory.duplicate_scans import _group_partition
    from services.directory.store import Record

    return [StoredGroup.from_data(r.data) for r in Record.by_parent.query(_group_partition(TENANT, scan_id, attempt))]


def _true_pairs(person: dict[str, int]) -> set[tuple[str, str]]:
    by_person: dict[int, list[str]] = {}
    for record_id, who in person.items():
        by_person.setdefault(who, []).append(record_id)
    return {(a, b) for ids in by_person.values() for a in ids for b in ids if a < b}
