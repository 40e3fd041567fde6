"""Each call-list row's latest event, kept by hooks on activity changes.

An `activities.on_change` hook runs in the transaction of every change of an activity: an event
(kind "event") linked to an account/contact that starts later than the row's latest becomes it;
when the latest moves earlier, is unlinked or deleted, the newest other event is read from the
`by_account` / `by_contact` index. A batch of new activities (mass activities) reads the rows it
touches in bulk first (`activities.on_batch`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from services.activities import activities
from services.activities.call_list import rows
from services.activities.domain.call_list import Recompute, RowKind, later, latest_after_change, summary
from services.activities.domain.models import Activity, ActivityKind
from services.activities.service import Caller
from services.activities.store import Record
from shared.service import model_of
from shared.store import UnitOfWork, tenant_key

INDEX_PAGE = 25  # activities read per page when the latest event is looked up again


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
            got = rows.get_rows(caller.tenant, kind, ids[start : start + 100])
            found.update({(kind, row_id): row for row_id, row in got.items()})
    token = _BATCH_ROWS.set(found)
    try:
        yield
    finally:
        _BATCH_ROWS.reset(token)


@activities.on_batch_failure
def forget_batch_rows() -> None:
    """A chunk of the batch did not commit: its staged rows hold data that is not stored."""
    held = _BATCH_ROWS.get()
    if held is not None:
        held.clear()


def _row_for(caller: Caller, staged: _Staged, kind: RowKind, row_id: str) -> Record | None:
    key = (kind, row_id)
    if key in staged.rows:
        return staged.rows[key]
    bulk = _BATCH_ROWS.get()
    if bulk is not None and key in bulk:
        return bulk[key]
    return rows.get_row(caller.tenant, kind, row_id)


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
            rows.place(row, caller.tenant, kind)
            continue
        if row is None:
            row = rows.new_row(caller.tenant, kind, row_id, new)
            rows.add(uow, row)
        else:
            rows.stage(uow, row, caller.tenant, kind, row_id, new)
        staged.rows[(kind, row_id)] = row
        if bulk is not None:
            bulk[(kind, row_id)] = row
