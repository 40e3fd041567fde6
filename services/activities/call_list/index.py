"""The call list's rows kept from the directory's events: accounts, contacts, classes, target groups
(the kernel's projection, shared/target_groups.py).

Every write is absolute and guarded (a record's `version`; the event time for classes and target
groups), in its own retried transaction, so that a redelivered or late event changes nothing;
deleted and erased records become tombstones. An account's change reaches its contacts' rows in
batches of at most `MAX_BATCH`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.activities.call_list import rows
from services.activities.domain.call_list import GroupRule, RowKind, with_account, with_record
from services.activities.store import ActivitiesStore, Record, new_record
from services.activities.subscriptions import subscribe
from shared.contracts.directory import ClassChanged, ContactErased, RecordChanged, RecordDeleted
from shared.events import Envelope
from shared.merges import resolve, survivor_of
from shared.store import ConcurrentUpdate, UnitOfWork, run_with_retries
from shared.target_groups import TargetGroups

CLASSES = "cl_classes"
GROUP = "cl_group"
MAX_BATCH = 99  # rows per transaction when an account's change reaches its contacts

_store = ActivitiesStore()


@subscribe("account.created")
@subscribe("account.updated")
def on_account_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = RecordChanged.model_validate(envelope.data)
    if survivor_of(_store, envelope.tenant_id, "account", payload.id):
        return  # a late event of a merged account: its row is a tombstone, its events moved to the survivor
    apply_account(envelope.tenant_id, payload.id, payload.record)


def apply_account(tenant: str, account_id: str, record: dict[str, Any]) -> None:
    """An account row with the directory's record (version-guarded), carried to its contacts' rows."""
    rows.write(tenant, "account", account_id, lambda data, _: with_record("account", data, record))
    spread_account(tenant, account_id)


def spread_account(tenant: str, account_id: str) -> int:
    """Carry an account's fields to its contacts' rows; returns how many changed."""
    account = rows.get_row(tenant, "account", account_id)
    if account is None:
        return 0
    changed = 0
    batch: list[Record] = []
    for row in Record.by_account.query(rows.contacts_of_pk(tenant, account_id), page_size=100):
        batch.append(row)
        if len(batch) == MAX_BATCH:
            changed += _spread_batch(tenant, account_id, account.data, batch)
            batch = []
    return changed + (_spread_batch(tenant, account_id, account.data, batch) if batch else 0)


def _spread_batch(tenant: str, account_id: str, account: dict[str, Any], batch: list[Record]) -> int:
    def attempt(current: list[Record]) -> int:
        uow = UnitOfWork()
        for row in current:
            data = row.data
            if (data.get("record") or {}).get("account_id") != account_id or data.get("gone"):
                continue
            new = with_account(data, account_id, account)
            if new != data:
                rows.stage(uow, row, tenant, "contact", row.record_id, new)
        uow.commit()
        return len(uow)

    try:
        return attempt(batch)  # the index's copies, usually current
    except ConcurrentUpdate:  # read each row afresh and try again
        ids = [r.record_id for r in batch]

        def fresh() -> int:
            return attempt([r for i in ids if (r := rows.get_row(tenant, "contact", i))])

        return int(run_with_retries(fresh))


@subscribe("contact.created")
@subscribe("contact.updated")
def on_contact_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = RecordChanged.model_validate(envelope.data)
    if survivor_of(_store, envelope.tenant_id, "contact", payload.id):
        return  # a late event of a merged contact: its row is a tombstone, its events moved to the survivor
    apply_contact(envelope.tenant_id, payload.id, payload.record)


def apply_contact(tenant: str, contact_id: str, record: dict[str, Any]) -> None:
    """A contact row with the directory's record (version-guarded) and its account's fields."""
    account_id = record.get("account_id")
    if account_id:  # an event written before its account was merged names the merged one
        record = {**record, "account_id": resolve(_store, tenant, "account", account_id)}

    def change(data: dict[str, Any] | None, uow: UnitOfWork) -> dict[str, Any] | None:
        new = with_record("contact", data, record)
        return None if new is None else with_account_row(tenant, new, uow)

    rows.write(tenant, "contact", contact_id, change)


def with_account_row(tenant: str, data: dict[str, Any], uow: UnitOfWork) -> dict[str, Any]:
    """A contact row's data carrying the fields of the account its record names (read now)."""
    account_id = (data.get("record") or {}).get("account_id")
    if not account_id:
        return with_account(data, None, None)
    account = rows.get_row(tenant, "account", account_id)
    # Commit only if the account row is still what was read: a change of it in between is
    # either seen here on the retry or carried to this row by its own handler.
    rows.check_unchanged(uow, tenant, "account", account_id, account)
    return with_account(data, account_id, account.data if account else None)


@subscribe("account.deleted")
def on_account_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    bury(envelope.tenant_id, "account", RecordDeleted.model_validate(envelope.data).id, "deleted")


@subscribe("contact.deleted")
def on_contact_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    bury(envelope.tenant_id, "contact", RecordDeleted.model_validate(envelope.data).id, "deleted")


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    bury(envelope.tenant_id, "contact", ContactErased.model_validate(envelope.data).id, "erased")


def bury(tenant: str, kind: RowKind, row_id: str, why: str) -> None:
    """Replace a row by a tombstone: nothing of the record (or its events) is kept."""
    rows.write(tenant, kind, row_id, lambda data, _: None if (data or {}).get("gone") else {"gone": why})


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


# The tenant's target groups: the kernel's projection (shared/target_groups.py) over this table,
# its rows kept as `cl_group` (the kind they always had, so rows projected before stay valid).
GROUPS: TargetGroups[Record] = TargetGroups(_store, kind=GROUP)
for _event_type, _handle in GROUPS.handlers().items():
    _handle.__module__ = __name__  # registered by this feature module (features.py lists it for these types)
    subscribe(_event_type)(_handle)


def group_rule(tenant: str, group_id: str) -> GroupRule:
    """The group's conditions; 422 naming the query's `target_group_id` when it is unknown or deleted
    (at once: a list filter does not wait for a group that may be on its way)."""
    data = GROUPS.require_in(tenant, group_id, field="query.target_group_id", code="not_found", grace=0)
    return GroupRule.model_validate(data)
