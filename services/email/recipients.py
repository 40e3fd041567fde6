"""The recipients projection: one row per directory contact with its account's fields.

Template previews and sending read a contact's tags from here, not from the directory.
Records (kinds of the email table):
- `recipient`, id = contact id: see `domain/recipients.py` for its data. Index `by_parent` gsi3:
  `T#<t>#ACCOUNT#<account id>#RECIPIENT` / `<contact id>`, so an account's change reaches its
  contacts with one Query (set while the contact names an account and is not gone).
- `recipient_account`, id = account id: the account's fields and version.

Directory events are applied with absolute writes guarded by the record's `version`, so a
redelivered or late event changes nothing; deleted and erased contacts become tombstones
holding no personal data, which later events of that contact cannot revive. Each write is its own
retried transaction; the consumer's dedupe marker is only a shortcut.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.email.domain.recipients import account_with, carrying, contact_with
from services.email.domain.templates import tag_context
from services.email.service import ACCESS, Caller, service_caller
from services.email.store import EmailStore, Record
from shared import clock
from shared.contracts.directory import ContactErased, RecordChanged, RecordDeleted, TenantAccessChanged
from shared.errors import NotFound
from shared.events import Envelope
from shared.store import ConcurrentUpdate, UnitOfWork, record_key, run_with_retries, tenant_key

from .subscriptions import subscribe

RECIPIENT = "recipient"
ACCOUNT = "recipient_account"
MAX_BATCH = 99  # rows per transaction when an account's change reaches its contacts

_store = EmailStore()


def contacts_of_pk(tenant: str, account_id: str) -> str:
    return tenant_key(tenant, "ACCOUNT", account_id, "RECIPIENT")


def _place(row: Record, tenant: str) -> None:
    data = row.data
    account_id = (data.get("contact") or {}).get("account_id")
    if account_id and not data.get("gone"):
        row.gsi3pk, row.gsi3sk = contacts_of_pk(tenant, account_id), row.record_id
    else:
        row.gsi3pk = row.gsi3sk = None


Change = Callable[[dict[str, Any] | None, UnitOfWork], dict[str, Any] | None]


def _write(tenant: str, kind: str, row_id: str, change: Change) -> None:
    """Read a row, let `change(data or None, uow)` give its new data (None: leave it), write; retried."""

    def attempt() -> None:
        row = _store.get(tenant, kind, row_id)
        uow = UnitOfWork()
        data = change(row.data if row else None, uow)
        if data is None:
            return
        _stage(uow, row, tenant, kind, row_id, data)
        uow.commit()

    run_with_retries(attempt)


def _stage(uow: UnitOfWork, row: Record | None, tenant: str, kind: str, row_id: str, data: dict[str, Any]) -> None:
    if row is None:
        row = _store.new(tenant, kind, row_id, data)
        if kind == RECIPIENT:
            _place(row, tenant)
        _store.add(uow, row)
        return
    row.data = data
    if kind == RECIPIENT:
        _place(row, tenant)
    uow.save(row)


@subscribe("contact.created")
@subscribe("contact.updated")
def on_contact_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = RecordChanged.model_validate(envelope.data)
    tenant = envelope.tenant_id

    def change(data: dict[str, Any] | None, uow: UnitOfWork) -> dict[str, Any] | None:
        new = contact_with(data, payload.record)
        if new is None:
            return None
        account_id = new["contact"].get("account_id")
        if not account_id:
            return carrying(new, None)
        account = _store.get(tenant, ACCOUNT, account_id)
        # Commit only if the account row is still what was read: a change in between is seen on
        # the retry, or carried to this row by the account's own handler.
        condition = Record.version == account.version if account else Record.pk.does_not_exist()
        uow.check(Record, record_key(tenant, ACCOUNT, account_id), ACCOUNT.upper(), condition, ConcurrentUpdate)
        return carrying(new, account.data if account else None)

    _write(tenant, RECIPIENT, payload.id, change)


@subscribe("account.created")
@subscribe("account.updated")
def on_account_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = RecordChanged.model_validate(envelope.data)
    _write(envelope.tenant_id, ACCOUNT, payload.id, lambda data, _: account_with(data, payload.record))
    spread_account(envelope.tenant_id, payload.id)


@subscribe("account.deleted")
def on_account_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    account_id = RecordDeleted.model_validate(envelope.data).id
    _write(
        envelope.tenant_id,
        ACCOUNT,
        account_id,
        lambda data, _: None if (data or {}).get("gone") else {"gone": "deleted"},
    )
    spread_account(envelope.tenant_id, account_id)


@subscribe("contact.deleted")
def on_contact_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    _bury(envelope.tenant_id, RecordDeleted.model_validate(envelope.data).id, "deleted")


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    _bury(envelope.tenant_id, ContactErased.model_validate(envelope.data).id, "erased")


def _bury(tenant: str, contact_id: str, why: str) -> None:
    """Replace the row by a tombstone: none of the contact's data is kept."""
    _write(tenant, RECIPIENT, contact_id, lambda data, _: None if (data or {}).get("gone") else {"gone": why})


def spread_account(tenant: str, account_id: str) -> int:
    """Carry an account row to the rows of its contacts (by_parent index); returns how many changed."""
    account = _store.get(tenant, ACCOUNT, account_id)
    if account is None:
        return 0
    changed = 0
    batch: list[str] = []
    for row in Record.by_parent.query(contacts_of_pk(tenant, account_id), page_size=100):
        batch.append(row.record_id)
        if len(batch) == MAX_BATCH:
            changed += _spread_batch(tenant, account_id, account.data, batch)
            batch = []
    return changed + (_spread_batch(tenant, account_id, account.data, batch) if batch else 0)


def _spread_batch(tenant: str, account_id: str, account: dict[str, Any], ids: list[str]) -> int:
    def attempt() -> int:
        uow = UnitOfWork()
        for contact_id, row in _store.get_many(tenant, RECIPIENT, ids).items():
            data = row.data
            if data.get("gone") or (data.get("contact") or {}).get("account_id") != account_id:
                continue
            new = carrying(data, account)
            if new != data:
                _stage(uow, row, tenant, RECIPIENT, contact_id, new)
        uow.commit()
        return len(uow)

    return int(run_with_retries(attempt))


def recipient(caller: Caller, contact_id: str) -> dict[str, Any]:
    """A contact's row data (contact, account); 404 if the service has not heard of it, it is gone,
    or the caller may not see it (the same answer)."""
    row = _store.get(caller.tenant, RECIPIENT, contact_id)
    if row is None or row.data.get("gone") or "contact" not in row.data or not caller.sees_contact(row.data["contact"]):
        raise NotFound(f"No contact {contact_id}.")
    return row.data


def hidden_from(caller: Caller, contact_ids: list[str]) -> set[str]:
    """The ids among `contact_ids` of contacts the caller may not see (BatchGet, 100 keys a call)."""
    if caller.sees_every_contact or not contact_ids:
        return set()
    ids = list(dict.fromkeys(contact_ids))
    hidden: set[str] = set()
    for start in range(0, len(ids), 100):
        for contact_id, row in _store.get_many(caller.tenant, RECIPIENT, ids[start : start + 100]).items():
            if "contact" in row.data and not caller.sees_contact(row.data["contact"]):
                hidden.add(contact_id)
    return hidden


def context_for(caller: Caller, contact_id: str, record_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tag context of a mail to one contact: `contact`, `account`, `owner` and `record`.

    Every known contact/account/owner field is present (None when empty, rendered as nothing);
    `record` is `record_data` as given. 404 when the contact is unknown, deleted or erased.
    """
    data = recipient(caller, contact_id)
    return tag_context({"id": contact_id, **data["contact"]}, data.get("account"), record_data)


def contexts_for(caller: Caller, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Tag contexts of many contacts (BatchGet, 100 keys a call), as `context_for` gives them.

    A deleted or erased contact maps to `{"gone": why}`; one the service has not heard of is absent.
    """
    ids = list(dict.fromkeys(contact_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        for contact_id, row in _store.get_many(caller.tenant, RECIPIENT, ids[start : start + 100]).items():
            data = row.data
            if data.get("gone"):
                found[contact_id] = {"gone": data["gone"]}
            elif "contact" in data:
                found[contact_id] = tag_context({"id": contact_id, **data["contact"]}, data.get("account"), None)
    return found


@subscribe("tenant.access_changed")
def on_access_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    """The tenant's open modules (the directory's rule for who sees contacts); a late event older
    than the one kept changes nothing."""
    access = TenantAccessChanged.model_validate(envelope.data)
    caller = service_caller(envelope.tenant_id)
    at = clock.iso(envelope.occurred_at)
    kept = caller.setting(ACCESS).get("at")
    if kept and str(kept) >= at:
        return
    caller.stage_setting(uow, ACCESS, {"open_modules": sorted(access.open_modules), "at": at})
