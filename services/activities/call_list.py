"""The call list [000]: a projection of the directory's accounts and contacts with their latest event.

Records (kinds of the activities table):
- `cl_account` / `cl_contact`, one per account / contact: `record` (the directory's fields the
  filters, conditions and the list read) and its `record_version`; a contact row also carries
  its account's fields (`account`, `account_version`), and every row its `latest` event. A row
  the directory has not announced yet (an event was logged first) holds only `latest`; a
  deleted or erased one is a tombstone (`gone`) that later events of that record cannot revive.
- `cl_classes`, one per tenant: class id -> classification type id (from `class.*`).
- `cl_group`, one per target group: its conditions and match (from `target_group.*`).

Index keys of a row (see `store.py`):
- `by_rank` gsi6: `T#<t>#CALL_LIST#ACCOUNT|CONTACT` / `<latest start>#<id>`;
- `by_rank_alt` gsi7: same partition / `<latest type>#<latest start>#<id>`;
- `by_account` gsi3 (contact rows): `T#<t>#ACCOUNT#<account>#CL_CONTACT` / `<id>`, to carry an
  account's change to its contacts.
Only rows that can be listed have rank keys (announced, not gone; contacts active), so passive
contacts cost no reads. A page is one Query on one of the rank indexes, read in key order and
filtered in memory: its cost is the rows read, not the size of the tenant. At most `MAX_READ`
rows are read per request; a page may then hold fewer rows than asked, with a cursor to go on.

Directory events are applied with absolute, version-guarded writes (a record's `version`; the
event time for classes and target groups), so a redelivered or late event changes nothing. They
commit in their own retried transactions (an account's change reaches its contacts in batches
of at most 99); the consumer's dedupe marker is only a shortcut.

The latest event is kept by an `activities.on_change` hook in the transaction of the activity's
change: an event (kind "event") linked to an account/contact that starts later than the row's
latest becomes it; when the latest moves earlier, is unlinked or deleted, the newest other
event is read from the `by_account` / `by_contact` index.

Known limit: a contact row written while its account changes may keep the account's older
fields if DynamoDB's index had not yet shown the new contact row to the account's update (index
replication lag, typically well under a second) until either changes again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from services.activities import activities, admin
from services.activities.domain.call_list import (
    CallCreate,
    CallListFilter,
    CallListRow,
    GroupRule,
    Recompute,
    RowKind,
    account_in_call_list,
    chunk_size,
    contact_in_call_list,
    contact_manager,
    in_target_group,
    later,
    latest_after_change,
    listed,
    rank_keys,
    row_kind,
    row_of,
    summary,
    visible_to,
    with_account,
    with_record,
)
from services.activities.domain.models import Activity, ActivityCreate, ActivityKind
from services.activities.service import Caller, model_of
from services.activities.store import ActivitiesStore, Record, new_record
from shared.contracts.directory import ClassChanged, ContactErased, RecordChanged, RecordDeleted, TargetGroupChanged
from shared.errors import BadRequest, FieldError, NotFound, ValidationFailed
from shared.events import Envelope
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.store import ConcurrentUpdate, UnitOfWork, run_with_retries, tenant_key

from .subscriptions import subscribe

ROW_KINDS: dict[RowKind, str] = {"account": "cl_account", "contact": "cl_contact"}
CLASSES = "cl_classes"
GROUP = "cl_group"
MAX_READ = 1000  # rows one request reads at most
MAX_BATCH = 99  # rows per transaction when an account's change reaches its contacts
INDEX_PAGE = 25  # activities read per page when the latest event is looked up again

_store = ActivitiesStore()


# ----------------------------------------------------------------------------- row keys


def rank_pk(tenant: str, kind: RowKind) -> str:
    return tenant_key(tenant, "CALL_LIST", kind.upper())


def contacts_of_pk(tenant: str, account_id: str) -> str:
    return tenant_key(tenant, "ACCOUNT", account_id, "CL_CONTACT")


def place(row: Record, tenant: str, kind: RowKind) -> None:
    """Set a row's index keys from its data."""
    data = row.data
    row.gsi6pk = row.gsi6sk = row.gsi7pk = row.gsi7sk = row.gsi3pk = row.gsi3sk = None
    if listed(kind, data):
        by_time, by_type = rank_keys(row.record_id, data.get("latest"))
        row.gsi6pk = row.gsi7pk = rank_pk(tenant, kind)
        row.gsi6sk, row.gsi7sk = by_time, by_type
    account_id = (data.get("record") or {}).get("account_id")
    if kind == "contact" and account_id and not data.get("gone"):
        row.gsi3pk, row.gsi3sk = contacts_of_pk(tenant, account_id), row.record_id


def new_row(tenant: str, kind: RowKind, row_id: str, data: dict[str, Any]) -> Record:
    row = new_record(tenant, ROW_KINDS[kind], row_id, data)
    place(row, tenant, kind)
    return row


def _stage(uow: UnitOfWork, row: Record | None, tenant: str, kind: RowKind, row_id: str, data: dict[str, Any]) -> None:
    """Add a row's new data to a unit of work (version-checked; a new row only if none exists)."""
    if row is None:
        _store.add(uow, new_row(tenant, kind, row_id, data))
        return
    row.data = data
    place(row, tenant, kind)
    uow.save(row)


Change = Callable[[dict[str, Any] | None, UnitOfWork], dict[str, Any] | None]


def _write(tenant: str, kind: RowKind, row_id: str, change: Change) -> None:
    """Read a row, let `change(data or None)` return its new data (None: leave it), write; retried."""

    def attempt() -> None:
        row = _store.get(tenant, ROW_KINDS[kind], row_id)
        uow = UnitOfWork()
        data = change(row.data if row else None, uow)
        if data is None:
            return
        _stage(uow, row, tenant, kind, row_id, data)
        uow.commit()

    run_with_retries(attempt)


# ----------------------------------------------------------------------------- directory events


@subscribe("account.created")
@subscribe("account.updated")
def on_account_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = RecordChanged.model_validate(envelope.data)
    _write(envelope.tenant_id, "account", payload.id, lambda data, _: with_record("account", data, payload.record))
    spread_account(envelope.tenant_id, payload.id)


def spread_account(tenant: str, account_id: str) -> int:
    """Carry an account's fields to its contacts' rows; returns how many changed."""
    account = _store.get(tenant, ROW_KINDS["account"], account_id)
    if account is None:
        return 0
    changed = 0
    batch: list[Record] = []
    for row in Record.by_account.query(contacts_of_pk(tenant, account_id), page_size=100):
        batch.append(row)
        if len(batch) == MAX_BATCH:
            changed += _spread_batch(tenant, account_id, account.data, batch)
            batch = []
    return changed + (_spread_batch(tenant, account_id, account.data, batch) if batch else 0)


def _spread_batch(tenant: str, account_id: str, account: dict[str, Any], rows: list[Record]) -> int:
    def attempt(current: list[Record]) -> int:
        uow = UnitOfWork()
        for row in current:
            data = row.data
            if (data.get("record") or {}).get("account_id") != account_id or data.get("gone"):
                continue
            new = with_account(data, account_id, account)
            if new != data:
                _stage(uow, row, tenant, "contact", row.record_id, new)
        uow.commit()
        return len(uow)

    try:
        return attempt(rows)  # the index's copies, usually current
    except ConcurrentUpdate:  # read each row afresh and try again
        ids = [r.record_id for r in rows]

        def fresh() -> int:
            return attempt([r for i in ids if (r := _store.get(tenant, ROW_KINDS["contact"], i))])

        return int(run_with_retries(fresh))


@subscribe("contact.created")
@subscribe("contact.updated")
def on_contact_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = RecordChanged.model_validate(envelope.data)
    tenant = envelope.tenant_id

    def change(data: dict[str, Any] | None, uow: UnitOfWork) -> dict[str, Any] | None:
        new = with_record("contact", data, payload.record)
        if new is None:
            return None
        account_id = new["record"].get("account_id")
        if not account_id:
            return with_account(new, None, None)
        account = _store.get(tenant, ROW_KINDS["account"], account_id)
        # Commit only if the account row is still what was read: a change of it in between is
        # either seen here on the retry or carried to this row by its own handler.
        key = tenant_key(tenant, "CL_ACCOUNT", account_id)
        condition = Record.version == account.version if account else Record.pk.does_not_exist()
        uow.check(Record, key, "CL_ACCOUNT", condition, ConcurrentUpdate)
        return with_account(new, account_id, account.data if account else None)

    _write(tenant, "contact", payload.id, change)


@subscribe("account.deleted")
def on_account_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    _bury(envelope.tenant_id, "account", RecordDeleted.model_validate(envelope.data).id, "deleted")


@subscribe("contact.deleted")
def on_contact_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    _bury(envelope.tenant_id, "contact", RecordDeleted.model_validate(envelope.data).id, "deleted")


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    _bury(envelope.tenant_id, "contact", ContactErased.model_validate(envelope.data).id, "erased")


def _bury(tenant: str, kind: RowKind, row_id: str, why: str) -> None:
    """Replace a row by a tombstone: nothing of the record (or its events) is kept."""
    _write(tenant, kind, row_id, lambda data, _: None if (data or {}).get("gone") else {"gone": why})


# ----------------------------------------------------------------------------- classes, target groups


def _newer(held: Mapping[str, Any] | None, at: str) -> bool:
    return held is None or str(held.get("at", "")) < at


@subscribe("class.created")
def on_class_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = ClassChanged.model_validate(envelope.data)
    _set_class(envelope, payload.id, {"type": payload.classification_type_id})


def _set_class(envelope: Envelope, class_id: str, entry: dict[str, Any]) -> None:
    at = envelope.occurred_at.isoformat()

    def attempt() -> None:
        record = _store.get(envelope.tenant_id, CLASSES, "all")
        classes = dict((record.data if record else {}).get("classes") or {})
        if not _newer(classes.get(class_id), at):
            return
        classes[class_id] = {**entry, "at": at}
        uow = UnitOfWork()
        if record is None:
            _store.add(uow, new_record(envelope.tenant_id, CLASSES, "all", {"classes": classes}))
        else:
            _store.replace(uow, record, {"classes": classes})
        uow.commit()

    run_with_retries(attempt)


def class_types(tenant: str) -> dict[str, str]:
    """class id -> classification type id, for the classes that have a type."""
    record = _store.get(tenant, CLASSES, "all")
    classes = (record.data if record else {}).get("classes") or {}
    return {cid: c["type"] for cid, c in classes.items() if c.get("type") and not c.get("gone")}


@subscribe("target_group.created")
@subscribe("target_group.updated")
def on_target_group_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = TargetGroupChanged.model_validate(envelope.data)
    rule = GroupRule(conditions=payload.conditions, match=payload.match).model_dump(mode="json")
    _set_group(envelope, payload.id, rule)


@subscribe("target_group.deleted")
def on_target_group_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    _set_group(envelope, RecordDeleted.model_validate(envelope.data).id, {"gone": True})


def _set_group(envelope: Envelope, group_id: str, data: dict[str, Any]) -> None:
    at = envelope.occurred_at.isoformat()

    def attempt() -> None:
        record = _store.get(envelope.tenant_id, GROUP, group_id)
        if record is not None and (record.data.get("gone") or not _newer(record.data, at)):
            return
        uow = UnitOfWork()
        if record is None:
            _store.add(uow, new_record(envelope.tenant_id, GROUP, group_id, {**data, "at": at}))
        else:
            _store.replace(uow, record, {**data, "at": at})
        uow.commit()

    run_with_retries(attempt)


def group_rule(tenant: str, group_id: str) -> GroupRule:
    record = _store.get(tenant, GROUP, group_id)
    if record is None or record.data.get("gone"):
        raise ValidationFailed.on("query.target_group_id", f"No target group {group_id}.", "not_found")
    return GroupRule.model_validate(record.data)


# ----------------------------------------------------------------------------- latest event


def _counted(activity: Activity | None, kind: RowKind, row_id: str) -> dict[str, Any] | None:
    """The event's summary if it counts for this row (an event linked to it), else None."""
    if activity is None or activity.kind != ActivityKind.event or activity.start is None:
        return None
    linked = activity.account_id if kind == "account" else activity.contact_id
    return summary(activity) if linked == row_id else None


def _rows_touched(*changed: Activity | None) -> list[tuple[RowKind, str]]:
    found: dict[tuple[RowKind, str], None] = {}
    for activity in changed:
        if activity is not None and activity.account_id:
            found[("account", activity.account_id)] = None
        if activity is not None and activity.contact_id:
            found[("contact", activity.contact_id)] = None
    return list(found)


def _latest_in_index(tenant: str, kind: RowKind, row_id: str, exclude: str) -> dict[str, Any] | None:
    """The newest event linked to a row, but `exclude` (whose change is not yet written)."""
    index = Record.by_account if kind == "account" else Record.by_contact
    key = tenant_key(tenant, kind.upper(), row_id, "ACTIVITY")
    only_events = Record.fields["kind"] == ActivityKind.event.value
    for record in index.query(key, scan_index_forward=False, filter_condition=only_events, page_size=INDEX_PAGE):
        if record.record_id != exclude:
            return summary(model_of(record, Activity))
    return None


@dataclass
class _Staged:
    """The rows a unit of work already writes: several activities of one transaction may touch one row."""

    rows: dict[tuple[RowKind, str], Record] = field(default_factory=dict)


def _staged(uow: UnitOfWork) -> _Staged:
    """What this unit of work already stages for the call list (kept on the unit of work itself)."""
    staged: _Staged = uow.__dict__.setdefault("_call_list", _Staged())
    return staged


# Rows read in bulk for a batch of new activities (mass activities): (kind, id) -> row or None.
# Rows staged from it are the same objects, so a later chunk of the batch sees the earlier
# chunk's committed version; `forget_batch_rows` drops them when a chunk did not commit.
_BATCH_ROWS: ContextVar[dict[tuple[RowKind, str], Record | None] | None] = ContextVar("call_list_rows", default=None)


@activities.on_batch
@contextmanager
def _read_rows_in_bulk(caller: Caller, todo: list[Activity]) -> Iterator[None]:
    keys = _rows_touched(*todo)
    found: dict[tuple[RowKind, str], Record | None] = dict.fromkeys(keys)
    for kind in ("account", "contact"):
        ids = [row_id for k, row_id in keys if k == kind]
        for start in range(0, len(ids), 100):
            rows = _store.get_many(caller.tenant, ROW_KINDS[kind], ids[start : start + 100])
            found.update({(kind, row_id): row for row_id, row in rows.items()})
    token = _BATCH_ROWS.set(found)
    try:
        yield
    finally:
        _BATCH_ROWS.reset(token)


@activities.on_batch_failure
def forget_batch_rows() -> None:
    """A chunk of the batch did not commit: its staged rows hold data that is not stored."""
    rows = _BATCH_ROWS.get()
    if rows is not None:
        rows.clear()


def _row_for(caller: Caller, staged: _Staged, kind: RowKind, row_id: str) -> Record | None:
    key = (kind, row_id)
    if key in staged.rows:
        return staged.rows[key]
    bulk = _BATCH_ROWS.get()
    if bulk is not None and key in bulk:
        return bulk[key]
    return _store.get(caller.tenant, ROW_KINDS[kind], row_id)


@activities.on_change
def note_latest(caller: Caller, uow: UnitOfWork, before: Activity | None, after: Activity | None) -> None:
    """Keep the latest event of every row the changed activity is (or was) linked to."""
    staged = _staged(uow)
    bulk = _BATCH_ROWS.get()
    for kind, row_id in _rows_touched(before, after):
        was, now = _counted(before, kind, row_id), _counted(after, kind, row_id)
        if was == now:
            continue  # nothing the row shows changed (memos, status, other fields)
        row = _row_for(caller, staged, kind, row_id)
        data = row.data if row else {}
        if data.get("gone"):
            continue
        current = data.get("latest")
        latest = latest_after_change(current, was, now)
        if isinstance(latest, Recompute):
            latest = later(latest.candidate, _latest_in_index(caller.tenant, kind, row_id, latest.exclude))
        if latest == current:
            continue
        new = {**data, "latest": dict(latest) if latest else None}
        if (kind, row_id) in staged.rows:
            assert row is not None
            row.data = new
            place(row, caller.tenant, kind)
            continue
        if row is None:
            row = new_row(caller.tenant, kind, row_id, new)
            _store.add(uow, row)
        else:
            _stage(uow, row, caller.tenant, kind, row_id, new)
        staged.rows[(kind, row_id)] = row
        if bulk is not None:
            bulk[(kind, row_id)] = row


# ----------------------------------------------------------------------------- the list


@dataclass
class _Filter:
    """Decides, row by row, what one caller's list shows."""

    caller: Caller
    flt: CallListFilter
    group: GroupRule | None

    @cached_property
    def kind(self) -> RowKind:
        return row_kind(self.flt.mode)

    @cached_property
    def class_types(self) -> dict[str, str]:
        needed = self.flt.classification_type_id or self.group is not None
        return class_types(self.caller.tenant) if needed else {}

    def passes(self, data: Mapping[str, Any]) -> bool:
        record = data.get("record") or {}
        account = data.get("account") if self.kind == "contact" else None
        manager = record.get("account_manager_id") if self.kind == "account" else contact_manager(record, account)
        auth = self.caller.auth
        owner = (record.get("owner") or {}).get("id")
        if not visible_to(auth.role, auth.user_id, auth.groups, owner, manager):
            return False
        if self.kind == "account":
            if not account_in_call_list(record, self.flt, self.class_types):
                return False
        elif not contact_in_call_list(record, account, self.flt, self.class_types):
            return False
        return self.group is None or in_target_group(self.group, self.kind, record, account, self.class_types)


@dataclass
class Reading:
    """What one page read: rows read, Queries sent, rows shown (for the benchmarks)."""

    read: int = 0
    queries: int = 0
    shown: int = 0


def list_rows(
    caller: Caller, flt: CallListFilter, cursor: str | None, limit: int, reading: Reading | None = None
) -> Page[CallListRow]:
    """One page of the call list in the chosen order; the cursor names this filter and order.

    Rows are read in key order in chunks: the first as big as the page (+1, so that an
    unfiltered list knows where it ends), the next sized by the share of rows that passed so
    far, until the page is full, the list ends or `MAX_READ` rows were read. A cursor goes on
    after the last row shown or read; the page it leads to may be short (or, at the end of a
    filtered list, empty).
    """
    scope = f"{caller.tenant}:call-list:{flt.scope()}"
    after = _position(decode_cursor(cursor, scope, caller.signing_key)) if cursor else None
    rows = _Filter(caller, flt, group_rule(caller.tenant, flt.target_group_id) if flt.target_group_id else None)
    reading = reading or Reading()
    sk_name = "gsi6sk" if flt.sort == "latest_time" else "gsi7sk"
    shown: list[Record] = []
    more = True
    while more and len(shown) < limit and reading.read < MAX_READ:
        size = chunk_size(limit, len(shown), reading.read, MAX_READ)
        chunk = _ranked(caller.tenant, rows.kind, flt, after, size)
        reading.queries += 1
        reading.read += len(chunk)
        more = len(chunk) == size
        after = getattr(chunk[-1], sk_name) if chunk else after
        shown.extend(row for row in chunk if rows.passes(row.data))
    reading.shown = min(len(shown), limit)
    next_sk = getattr(shown[limit - 1], sk_name) if len(shown) > limit else (after if more else None)
    next_cursor = encode_cursor({"sk": next_sk}, scope, caller.signing_key) if next_sk else None
    items = [row_of(rows.kind, r.record_id, r.data) for r in shown[:limit]]
    return Page[CallListRow](items=items, next_cursor=next_cursor)


def _position(position: dict[str, Any]) -> str:
    sk = position.get("sk")
    if not isinstance(sk, str):
        raise BadRequest(
            "The cursor is not valid for this list.",
            [FieldError(field="query.cursor", message="invalid cursor", code="invalid_cursor")],
        )
    return sk


def _ranked(tenant: str, kind: RowKind, flt: CallListFilter, after: str | None, limit: int) -> list[Record]:
    """The next `limit` rows of a list after the position `after`: one Query on a rank index."""
    index = Record.by_rank if flt.sort == "latest_time" else Record.by_rank_alt
    sk = Record.gsi6sk if flt.sort == "latest_time" else Record.gsi7sk
    newest_first = flt.order == "desc"
    condition = None
    if after is not None:
        condition = sk < after if newest_first else sk > after
    query = index.query(
        rank_pk(tenant, kind), range_key_condition=condition, scan_index_forward=not newest_first, limit=limit
    )
    return list(query)


# ----------------------------------------------------------------------------- logging a call


def log_call(caller: Caller, body: CallCreate) -> Activity:
    """An event linked to the row's account or contact (by the search mode), shown as its latest at once."""
    body.check_link()
    kind = row_kind(body.mode)
    row = _store.get(caller.tenant, ROW_KINDS[kind], body.row_id)
    data = row.data if row else {}
    record = data.get("record") or {}
    manager = record.get("account_manager_id") if kind == "account" else contact_manager(record, data.get("account"))
    owner = (record.get("owner") or {}).get("id")
    auth = caller.auth
    if not listed(kind, data) or not visible_to(auth.role, auth.user_id, auth.groups, owner, manager):
        raise NotFound(f"No {kind} {body.row_id} in the call list.")
    if admin.activity_type(caller, body.type).kind != ActivityKind.event:
        raise ValidationFailed.on("type", f"{body.type} is not a type of event.", "not_event")
    create = ActivityCreate(
        type=body.type,
        subject=body.subject,
        description=body.description,
        start=body.start,
        end=body.end or body.start,
        account_id=body.account_id,
        contact_id=body.contact_id,
    )
    activity = activities.build(caller, create, source="call_list", source_id=body.row_id)

    def run() -> Activity:
        uow = UnitOfWork()
        activities.stage_new(caller, uow, activity)
        uow.commit()
        return activity

    return run_with_retries(run)  # type: ignore[no-any-return]
