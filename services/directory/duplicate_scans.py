"""Finding duplicate accounts and contacts (issue 24, item 2): scans, their groups, dismissals.

`POST /duplicates/scans` (admins) records a scan `queued` and puts one message on the directory's
scans queue; the scan function (handlers/scans.py) reads the tenant's records of the entity page by
page through the `by_type` index (its progress, `records_read`, updated after each page), runs the
matching core (services/directory/matching) over them in memory, drops the pairs dismissed before,
and writes the groups with their pairs. The groups are written in transactions of at most
`scan_groups_per_transaction` groups, each with the scan's own update (groups written so far, on
the condition of the scan's attempt and of the groups written before), the last one with the
scan's completion, the entity's "latest scan" pointer and `duplicate_scan.completed`: the scan's
state commits with its results.

Restartable: each delivery of the scan's message that starts the work takes the next `attempt`
(one conditional UpdateItem); its groups get ids derived from the scan, the attempt and their first
record, listed under the attempt's partition, and every write of it holds only while the scan is at
that attempt. A crash or a redelivery starts the next attempt from the first page: what the dead one
wrote is never listed (its partition is not the completed attempt's; its items expire), and a late
twin of a superseded attempt stops at its next write. A completed or failed scan's message does
nothing; after MAX_ATTEMPTS deliveries that died the scan is `failed`.

Size: one invocation reads and matches the whole entity (blocking needs every record's keys in
one place). A scan's peak is about 2.3 KB a record (234 MB at 100,000 contacts, measured by
tests/perf/test_u_duplicate_scan_job.py; 50 CPU s), so the function's 1024 MB and 900 s hold
MAX_SCAN_RECORDS (300,000) with room; a bigger tenant's scan
fails `too_large` before matching rather than dying of memory (docs/decisions.md: the continuation
such a tenant would need).

Who: admins start and read scans (a scan reads every record of the tenant). Any user lists the
groups (`GET /duplicates`), each as they may see it (domain/duplicates.py: only pairs of two
records the user may read, a group with fewer than two such records left out), and may dismiss a
group whose visible records they may all change; a dismissal dismisses every pair of those records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.attributes import TTLAttribute

from services.directory import events as ev
from services.directory.domain.duplicates import GroupView, StoredGroup, all_pairs, groups_of, pair_of, view
from services.directory.domain.models import Module
from services.directory.matching.engine import prepare_all, scan_prepared
from services.directory.matching.fields import FIELDS
from services.directory.matching.prepare import Prepared, needed_fields
from services.directory.service import Caller, service_caller
from services.directory.settings import DirectorySettings
from services.directory.store import Placement, Record, new_record
from shared import clock
from shared.errors import Forbidden, NotFound
from shared.ids import derived_id, new_id
from shared.observability import logger
from shared.pagination import Page
from shared.service import model_of, partition_page
from shared.settings import load
from shared.store import ConcurrentUpdate, UnitOfWork, record_key, tenant_key, update_if
from shared.types import Owner

Entity = Literal["contacts", "accounts"]
State = Literal["queued", "running", "completed", "failed"]

SCAN = "duplicate_scan"
GROUP = "duplicate_group"
DISMISSAL = "duplicate_dismissal"
LATEST = "duplicate_latest"  # per entity: the latest completed scan and its attempt
SCAN_JOB = "directory.duplicate_scan"
FINISHED = ("completed", "failed")
MAX_ATTEMPTS = 3  # deliveries that may die before the scan is failed
MAX_SCAN_RECORDS = 300_000  # what one invocation holds (see the module's docstring)
GROUP_RETENTION = timedelta(days=90)  # a scan's groups (and a dead attempt's) expire after this
MAX_TRANSACTION_ITEMS = 100
KINDS: dict[str, str] = {"contacts": "contact", "accounts": "account"}


class ScanRequest(BaseModel):
    """`entity`: which records to scan."""

    model_config = ConfigDict(extra="forbid")

    entity: Entity


class DuplicateScan(BaseModel):
    id: str
    entity: Entity
    state: State
    records_read: int = Field(0, description="Records read so far (of the current attempt)")
    attempt: int = Field(0, description="The deliveries that started reading: 1, more when one died and it restarted")
    groups_found: int = Field(0, description="Groups of duplicates found (set when the scan completes)")
    requested_at: str
    requested_by: str | None = None
    started_at: str | None = Field(None, description="When the scan function started reading")
    finished_at: str | None = None
    error: str | None = Field(None, description="Why a failed scan failed")


class DuplicateGroup(BaseModel):
    id: str
    entity: Entity
    scan_id: str
    records: list[str] = Field(description="The ids of the records you may read that match one another (2 or more)")
    fields: list[str] = Field(description="The fields that matched in the pairs of these records")
    score: float = Field(description="The weakest of these records' matching pairs' scores (0-1)")


class Dismissal(BaseModel):
    group_id: str
    entity: Entity
    records: list[str] = Field(description="The records dismissed as not duplicates of one another")
    pairs: int = Field(description="The pairs of records dismissed (every pair of `records`)")


class ExpiringRecord(Record):
    """A directory record that DynamoDB's TTL removes (`expires_at`): a scan's groups."""

    expires_at = TTLAttribute(null=True)


class Superseded(Exception):
    """A later attempt (a redelivery) took the scan over: this one stops writing."""


class ScanTooLarge(Exception):
    """More records than one invocation holds: the scan fails, saying so."""


# ----------------------------------------------------------------------------- the API


def _scan_record(caller: Caller, scan_id: str) -> Record:
    caller.require_admin()
    record = caller.store.get(caller.tenant, SCAN, scan_id)
    if record is None:
        raise NotFound(f"No duplicate scan {scan_id}.")
    return record


def start_scan(caller: Caller, body: ScanRequest) -> DuplicateScan:
    """Record the scan `queued` with its event, then queue its message; a scan that cannot be
    queued is `failed` (and the request fails)."""
    caller.require_admin()
    record = new_scan(caller, body.entity)
    try:
        enqueue(caller.tenant, record.record_id)
    except Exception:
        _finish_failed(caller, record, "Could not be queued; start it again.")
        raise
    return model_of(record, DuplicateScan)


def new_scan(caller: Caller, entity: str) -> Record:
    """The scan's record, `queued`, committed with its `duplicate_scan.requested` event."""
    scan_id = new_id()
    data = {
        "entity": entity,
        "state": "queued",
        "attempt": 0,
        "records_read": 0,
        "groups_found": 0,
        "groups_written": 0,
        "requested_at": clock.now().isoformat(),
        "requested_by": caller.user_id,
    }
    record = new_record(caller.tenant, SCAN, scan_id, data, Placement())
    uow = UnitOfWork()
    caller.store.add(uow, record)
    uow.publish(caller.event("duplicate_scan.requested", ev.DuplicateScanChanged(id=scan_id, entity=entity)))
    uow.commit()
    return record


def get_scan(caller: Caller, scan_id: str) -> DuplicateScan:
    return model_of(_scan_record(caller, scan_id), DuplicateScan)


@cache
def sqs() -> Any:
    import boto3  # here: the API's cold start loads boto3 only when a scan is queued

    return boto3.client("sqs")


def enqueue(tenant_id: str, scan_id: str) -> None:
    body = {"job": SCAN_JOB, "tenant_id": tenant_id, "scan_id": scan_id}
    sqs().send_message(QueueUrl=load(DirectorySettings).scans_queue_url, MessageBody=json.dumps(body))


def _group_partition(tenant_id: str, scan_id: str, attempt: int) -> str:
    """Where one attempt of a scan lists its groups (the `by_parent` index), in the scan's order."""
    return tenant_key(tenant_id, "DUPLICATE_SCAN", scan_id, f"A{attempt}", "GROUP")


def _dismissals_partition(tenant_id: str, entity: str) -> str:
    return tenant_key(tenant_id, "DUPLICATE_DISMISSAL", entity)


def _field_order(caller: Caller, entity: str) -> list[str]:
    return [rule.field for rule in caller.duplicate_rules(entity).fields]


def _readable(caller: Caller, entity: str, ids: set[str], write: bool = False) -> dict[str, Record]:
    """The records of these ids that exist and that the caller may read (and, with `write`,
    change): the kernel's permission check on each record's owner as it is now."""
    module: Module = "contacts" if entity == "contacts" else "accounts"
    found = caller.store.get_many(caller.tenant, KINDS[entity], sorted(ids)) if ids else {}
    allowed = {}
    for record_id, record in found.items():
        data = record.data
        owner = Owner.model_validate(data["owner"])
        if data.get("erased") or not caller.can_read(module, owner, public=bool(data.get("public"))):
            continue
        if write and not caller.can_write(owner):
            continue
        allowed[record_id] = record
    return allowed


def _dismissed(group: Record) -> set[tuple[str, str]]:
    return {pair_of(a, b) for a, b in group.data.get("dismissed") or []}


def _group_model(group: Record, seen: GroupView) -> DuplicateGroup:
    data = group.data
    return DuplicateGroup(
        id=group.record_id,
        entity=data["entity"],
        scan_id=data["scan_id"],
        records=list(seen.records),
        fields=list(seen.fields),
        score=seen.score,
    )


def list_groups(caller: Caller, entity: Entity, cursor: str | None, limit: int) -> Page[DuplicateGroup]:
    """The groups of the entity's latest completed scan as the caller may see them, in the scan's
    order (largest first); none before a scan completed."""
    latest = caller.store.get(caller.tenant, LATEST, entity)
    if latest is None:
        return Page[DuplicateGroup](items=[], next_cursor=None)
    scan_id, attempt = latest.data["scan_id"], int(latest.data["attempt"])
    order = _field_order(caller, entity)
    views: dict[str, GroupView] = {}

    def keep(batch: list[Record]) -> list[Record]:
        ids = {r for group in batch for r in group.data.get("records", [])}
        readable = _readable(caller, entity, ids)
        kept = []
        for group in batch:
            seen = view(StoredGroup.from_data(group.data), readable, _dismissed(group), order)
            if seen is not None:
                views[group.record_id] = seen
                kept.append(group)
        return kept

    return partition_page(
        caller,
        f"duplicates:{entity}:{scan_id}",
        cursor,
        limit,
        Record.by_parent,
        _group_partition(caller.tenant, scan_id, attempt),
        Record.gsi3sk,
        DuplicateGroup,
        keep=keep,
        convert=lambda group: _group_model(group, views[group.record_id]),
    )


def dismiss(caller: Caller, group_id: str) -> Dismissal:
    """Dismiss the group as the caller sees it: every pair of its visible records, "not duplicates"
    (also for every later scan). 404 when the caller sees no pair of it; 403 when they may not
    change every one of its visible records. Repeating it changes nothing."""
    group = caller.store.get(caller.tenant, GROUP, group_id)
    if group is None:
        raise NotFound(f"No duplicate group {group_id}.")
    entity = group.data["entity"]
    stored = StoredGroup.from_data(group.data)
    readable = _readable(caller, entity, set(stored.records))
    seen = view(stored, readable, (), _field_order(caller, entity))
    if seen is None:
        raise NotFound(f"No duplicate group {group_id}.")
    if len(_readable(caller, entity, set(seen.records), write=True)) < len(seen.records):
        raise Forbidden("You may see these records but not change every one of them.")
    pairs = all_pairs(seen.records)
    result = Dismissal(group_id=group_id, entity=entity, records=list(seen.records), pairs=len(pairs))
    before = _dismissed(group)
    new = [p for p in pairs if p not in before]
    if not new:
        return result
    _write_dismissals(caller, group, entity, new)
    return result


def _dismissal_record(caller: Caller, entity: str, pair: tuple[str, str], group_id: str) -> Record:
    data = {
        "entity": entity,
        "records": list(pair),
        "group_id": group_id,
        "dismissed_by": caller.user_id,
        "dismissed_at": clock.now().isoformat(),
    }
    record = new_record(caller.tenant, DISMISSAL, derived_id(entity, *pair), data, Placement())
    record.gsi1pk = _dismissals_partition(caller.tenant, entity)  # read by the next scan of the entity
    return record


def _write_dismissals(caller: Caller, group: Record, entity: str, pairs: list[tuple[str, str]]) -> None:
    """One dismissal item per pair not dismissed before (of any group), in transactions of at most
    100 items; the last one marks the pairs on the group and publishes the event. A crash between
    two leaves some pairs dismissed: the request, repeated, writes the rest."""
    ids = {derived_id(entity, *pair): pair for pair in pairs}
    existing = caller.store.get_many(caller.tenant, DISMISSAL, list(ids))
    items = [_dismissal_record(caller, entity, pair, group.record_id) for i, pair in ids.items() if i not in existing]
    room = MAX_TRANSACTION_ITEMS - 2  # the group and the event
    chunks = [items[i : i + room] for i in range(0, len(items), room)] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        uow = UnitOfWork()
        for item in chunk:
            caller.store.add(uow, item)
        if number == len(chunks):
            dismissed = [list(p) for p in sorted(_dismissed(group) | set(pairs))]
            uow.update(group, [Record.fields["dismissed"].set(dismissed)])  # an update: keeps its expiry
            records = sorted({r for p in pairs for r in p})
            payload = ev.DuplicatesDismissed(id=group.record_id, entity=entity, records=records, pairs=len(pairs))
            uow.publish(caller.event("duplicate_group.dismissed", payload))
        uow.commit()


# ----------------------------------------------------------------------------- the scan function


def run_scan_message(message: dict[str, Any]) -> None:
    """The scans queue's message: run the scan it names (as the directory, over every record)."""
    if message.get("job") != SCAN_JOB:
        raise ValueError(f"unknown job {message.get('job')}")
    caller = service_caller(str(message["tenant_id"]))
    run_scan(caller, str(message["scan_id"]))


def run_scan(caller: Caller, scan_id: str) -> None:
    record = caller.store.get(caller.tenant, SCAN, scan_id)
    if record is None:
        logger.warning("no such duplicate scan", extra={"scan_id": scan_id})
        return
    if record.data["state"] in FINISHED:
        logger.info("duplicate scan finished already", extra={"scan_id": scan_id})
        return
    attempt = int(record.data.get("attempt", 0)) + 1
    if attempt > MAX_ATTEMPTS:
        _finish_failed(caller, record, f"Stopped after {MAX_ATTEMPTS} attempts that did not finish.")
        return
    if not _begin(record, attempt):
        logger.info("duplicate scan taken by another delivery", extra={"scan_id": scan_id})
        return
    try:
        Scanner(caller, record, attempt, load(DirectorySettings)).run()
    except Superseded:
        logger.info("duplicate scan superseded by a later attempt", extra={"scan_id": scan_id, "attempt": attempt})
    except ScanTooLarge as exc:
        _finish_failed(caller, record, str(exc), attempt)


def _begin(record: Record, attempt: int) -> bool:
    fields = Record.fields
    actions = [
        fields["attempt"].set(attempt),
        fields["state"].set("running"),
        fields["records_read"].set(0),
        fields["groups_written"].set(0),
        fields["started_at"].set(clock.now().isoformat()),
    ]
    condition = (fields["attempt"] == attempt - 1) & fields["state"].is_in("queued", "running")
    return update_if(record, actions, condition)


def _finish_failed(caller: Caller, record: Record, error: str, attempt: int | None = None) -> None:
    """The scan failed (once: a finished scan stays as it is), with its event."""
    fields = Record.fields
    uow = UnitOfWork()
    condition = fields["state"].is_in("queued", "running")
    if attempt is not None:
        condition &= fields["attempt"] == attempt
    now = clock.now().isoformat()
    actions = [fields["state"].set("failed"), fields["error"].set(error), fields["finished_at"].set(now)]
    uow.update(record, actions, condition=condition, on_conflict=Superseded, check_version=False)
    entity = record.data["entity"]
    payload = ev.DuplicateScanChanged(id=record.record_id, entity=entity, error=error)
    uow.publish(caller.event("duplicate_scan.failed", payload, event_id=derived_id(record.record_id, "failed")))
    try:
        uow.commit()
    except Superseded:
        logger.info("duplicate scan finished before it could fail", extra={"scan_id": record.record_id})


class Scanner:
    """One attempt of a scan: read, match, write."""

    def __init__(self, caller: Caller, record: Record, attempt: int, settings: DirectorySettings) -> None:
        self.caller = caller
        self.record = record
        self.attempt = attempt
        self.entity: str = record.data["entity"]
        self.page_size = settings.scan_page_records
        self.per_transaction = min(settings.scan_groups_per_transaction, MAX_TRANSACTION_ITEMS - 3)
        self.rules = caller.duplicate_rules(self.entity)

    def run(self) -> None:
        prepared = self.read()
        result = scan_prepared(prepared, self.rules)
        del prepared
        groups = groups_of(result.matches, self.dismissed())
        self.write(groups, result.records)
        logger.info(
            "duplicate scan completed",
            extra={"scan_id": self.record.record_id, "records": result.records, "groups": len(groups)},
        )

    def read(self) -> list[Prepared]:
        """Every live record of the entity, prepared, page by page; the scan's progress after each."""
        prepared: list[Prepared] = []
        read = 0
        for page in self._pages():
            read += len(page)
            if read > MAX_SCAN_RECORDS:
                raise ScanTooLarge(f"More than {MAX_SCAN_RECORDS} {self.entity}: too many for one scan.")
            live = (r.data | {"id": r.record_id} for r in page if not r.data.get("erased"))
            prepared += prepare_all(live, self.rules)
            self._progress(read)
        return prepared

    def _pages(self) -> Iterator[list[Record]]:
        """Pages of the entity's records (`by_type`, in id order), each item with only the fields
        matching reads: a contact's other fields are neither sent nor parsed (a third of the
        function's time went to parsing whole items)."""
        after: str | None = None
        kind = KINDS[self.entity]
        specs = FIELDS[self.entity]  # type: ignore[index]
        wanted = needed_fields(self.entity, (r.field for r in self.rules.fields))  # type: ignore[arg-type]
        sources = sorted({source for name in wanted for source in specs[name].sources} | {"erased"})
        attributes = ["pk", *(f"{Record.fields.attr_name}.{source}" for source in sources)]
        key = tenant_key(self.caller.tenant, kind.upper())
        while True:
            condition = Record.gsi1sk > after if after else None
            query = Record.by_type.query(
                key, range_key_condition=condition, limit=self.page_size, attributes_to_get=attributes
            )
            page = list(query)
            if page:
                yield page
            if len(page) < self.page_size:
                return
            after = page[-1].record_id

    def _progress(self, read: int) -> None:
        fields = Record.fields
        if not update_if(self.record, [fields["records_read"].set(read)], fields["attempt"] == self.attempt):
            raise Superseded

    def dismissed(self) -> set[tuple[str, str]]:
        key = _dismissals_partition(self.caller.tenant, self.entity)
        return {pair_of(*r.data["records"]) for r in Record.by_type.query(key)}

    def write(self, groups: list[StoredGroup], records: int) -> None:
        """The groups in transactions, each with the scan's count of groups written (on the
        condition of this attempt and of the count before); the last completes the scan."""
        size = self.per_transaction
        chunks = [groups[i : i + size] for i in range(0, len(groups), size)] or [[]]
        written = 0
        for number, chunk in enumerate(chunks, start=1):
            last = number == len(chunks)
            for tries in range(3):
                uow = UnitOfWork()
                for position, group in enumerate(chunk, start=written):
                    uow.save(self._group_item(group, position))
                self._count(uow, written, written + len(chunk), records if last else None, len(groups))
                if last:
                    self._complete(uow, records, len(groups))
                try:
                    uow.commit()
                    break
                except ConcurrentUpdate:  # the latest pointer moved under us: read it again
                    if tries == 2:
                        raise
            written += len(chunk)

    def _group_item(self, group: StoredGroup, position: int) -> ExpiringRecord:
        scan_id = self.record.record_id
        group_id = derived_id(scan_id, str(self.attempt), group.records[0])
        data = {"entity": self.entity, "scan_id": scan_id, **group.to_data()}
        item = ExpiringRecord(
            pk=record_key(self.caller.tenant, GROUP, group_id),
            sk=GROUP.upper(),
            kind=GROUP,
            gsi3pk=_group_partition(self.caller.tenant, scan_id, self.attempt),
            gsi3sk=f"{position:07d}",  # the scan's order: largest first
            expires_at=clock.now() + GROUP_RETENTION,
        )
        item.data = data
        return item

    def _count(self, uow: UnitOfWork, before: int, after: int, records: int | None, found: int) -> None:
        fields = Record.fields
        actions = [fields["groups_written"].set(after)]
        if records is not None:
            now = clock.now().isoformat()
            actions += [
                fields["state"].set("completed"),
                fields["records_read"].set(records),
                fields["groups_found"].set(found),
                fields["finished_at"].set(now),
            ]
        condition = (fields["attempt"] == self.attempt) & (fields["groups_written"] == before)
        uow.update(self.record, actions, condition=condition, on_conflict=Superseded, check_version=False)

    def _complete(self, uow: UnitOfWork, records: int, found: int) -> None:
        """The entity's latest scan pointer (unless a later-started scan completed first) and the event."""
        caller, scan_id = self.caller, self.record.record_id
        latest = caller.store.get(caller.tenant, LATEST, self.entity)
        pointer = {"scan_id": scan_id, "attempt": self.attempt}
        if latest is None:
            caller.store.add(uow, new_record(caller.tenant, LATEST, self.entity, pointer, Placement()))
        elif latest.data["scan_id"] < scan_id:  # ULIDs: a later-started scan sorts after
            caller.store.replace(uow, latest, pointer)
        payload = ev.DuplicateScanChanged(id=scan_id, entity=self.entity, records_read=records, groups_found=found)
        uow.publish(caller.event("duplicate_scan.completed", payload, event_id=derived_id(scan_id, "completed")))
