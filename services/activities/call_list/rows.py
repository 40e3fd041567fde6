"""The call list's stored rows (`cl_account`, `cl_contact`) and their index keys.

Every write of a row goes through `stage`, which sets its keys from its data (`place`): a row is
ranked only while it can be listed, and a contact row is found by its account while it names one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.activities.domain.call_list import RowKind, listed, rank_keys
from services.activities.store import ActivitiesStore, Record, new_record
from shared.store import ConcurrentUpdate, UnitOfWork, record_key, run_with_retries, tenant_key

ROW_KINDS: dict[RowKind, str] = {"account": "cl_account", "contact": "cl_contact"}

_store = ActivitiesStore()


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


def get_row(tenant: str, kind: RowKind, row_id: str) -> Record | None:
    return _store.get(tenant, ROW_KINDS[kind], row_id)


def get_rows(tenant: str, kind: RowKind, row_ids: list[str]) -> dict[str, Record]:
    """Rows by id (one BatchGet: at most 100 ids); a row not stored is absent."""
    return _store.get_many(tenant, ROW_KINDS[kind], row_ids)


def add(uow: UnitOfWork, row: Record) -> None:
    """Add a new row to a unit of work (only if none exists)."""
    _store.add(uow, row)


def stage(uow: UnitOfWork, row: Record | None, tenant: str, kind: RowKind, row_id: str, data: dict[str, Any]) -> None:
    """Add a row's new data to a unit of work (version-checked; a new row only if none exists)."""
    if row is None:
        add(uow, new_row(tenant, kind, row_id, data))
        return
    row.data = data
    place(row, tenant, kind)
    uow.save(row)


def check_unchanged(uow: UnitOfWork, tenant: str, kind: RowKind, row_id: str, row: Record | None) -> None:
    """Commit only if the row is still as read (`row`; None: still absent), else ConcurrentUpdate."""
    key = record_key(tenant, ROW_KINDS[kind], row_id)
    condition = Record.version == row.version if row else Record.pk.does_not_exist()
    uow.check(Record, key, ROW_KINDS[kind].upper(), condition, ConcurrentUpdate)


Change = Callable[[dict[str, Any] | None, UnitOfWork], dict[str, Any] | None]


def write(tenant: str, kind: RowKind, row_id: str, change: Change) -> None:
    """Read a row, let `change(data or None)` return its new data (None: leave it), write; retried."""

    def attempt() -> None:
        row = get_row(tenant, kind, row_id)
        uow = UnitOfWork()
        data = change(row.data if row else None, uow)
        if data is None:
            return
        stage(uow, row, tenant, kind, row_id, data)
        uow.commit()

    run_with_retries(attempt)
