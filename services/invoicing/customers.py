"""Customers: the directory's accounts as invoicing bills them (a projection kept from `account.*`).

Records: kind "customer", id = the account's id, data = `domain/customers.projected` (with the
account's `source_version`) and invoicing's own `consolidated`, `deleted`. Directory events are
applied with the account's version: a late or repeated event (a lower or equal version) changes
nothing; a deletion marks the row (orders already made keep their customer; a new order may not
name it). A sales order names a known customer: one the projection has, or, the event being on
its way, has within `WAIT_SECONDS` (`known`).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from ulid import ULID

from services.invoicing.domain.customers import Customer, CustomerUpdate, owner_of, projected
from services.invoicing.service import CUSTOMERS, PRICE_LISTS, Caller, service_caller
from services.invoicing.store import Record
from services.invoicing.subscriptions import subscribe
from shared import clock
from shared.contracts.directory import RecordChanged, RecordDeleted
from shared.errors import NotFound, ValidationFailed
from shared.events import Envelope
from shared.merges import redirect_if_merged, resolve
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, model_of, partition_page
from shared.store import UnitOfWork, tenant_key

CUSTOMER = "customer"
WAIT_SECONDS = 3.0  # how long a new order waits for an account created a moment ago to be projected
RECENT = timedelta(minutes=2)  # an unknown id made this recently (a ULID's time) is waited for


def survivor(caller: Caller, account_id: str) -> str:
    """The account an order or price list naming `account_id` goes to: itself, or the account it
    was merged into (merges.py), so an old link keeps working."""
    return resolve(caller.store, caller.tenant, "account", account_id)


def _customer(record: Record) -> Customer:
    return model_of(record, Customer)


def _sees(caller: Caller, data: dict[str, Any]) -> bool:
    """Whether the caller sees the account (the directory's rule: owner, groups; managers all)."""
    owner = owner_of(data)
    return caller.allows(Action.VIEW, CUSTOMERS) if owner is None else caller.allows(Action.VIEW, CUSTOMERS, owner)


def record_for(caller: Caller, account_id: str) -> Record:
    record = caller.store.get(caller.tenant, CUSTOMER, account_id)
    if record is None:  # a merged account's copy is gone: 301 (a GET) or 410 to the survivor's
        redirect_if_merged(caller.store, caller.tenant, account=account_id)
    if record is None or not _sees(caller, record.data):
        raise NotFound(f"No customer {account_id}.")
    return record


def get_customer(caller: Caller, account_id: str) -> Customer:
    return _customer(record_for(caller, account_id))


def list_customers(caller: Caller, cursor: str | None, limit: int) -> Page[Customer]:
    keep = None
    if caller.visible_owners(CUSTOMERS) is not None:

        def keep(batch: list[Any]) -> list[Any]:
            return [r for r in batch if r.kind == CUSTOMER and _sees(caller, r.data)]

    key = tenant_key(caller.tenant, CUSTOMER.upper())
    return partition_page(caller, "customers", cursor, limit, Record.by_type, key, Record.gsi1sk, Customer, keep=keep)


def update_customer(caller: Caller, account_id: str, body: CustomerUpdate) -> Customer:
    """Invoicing's own settings of a customer (`consolidated`): managers and admins, as the catalogue."""

    def run() -> Customer:
        record = record_for(caller, account_id)
        caller.require(Action.CHANGE, PRICE_LISTS)
        if record.data.get("consolidated", False) != body.consolidated:
            uow = UnitOfWork()
            caller.store.replace(uow, record, {**record.data, "consolidated": body.consolidated})
            uow.commit()
        return _customer(record)

    return commit(run)


def known(caller: Caller, account_id: str, field: str = "account_id") -> dict[str, Any]:
    """The customer a new order or price list names; 422 `not_found` naming `field` when the
    directory has no such account (or deleted it)."""
    deadline = time.monotonic() + (WAIT_SECONDS if _recent(account_id) else 0)
    while True:
        record = caller.store.get(caller.tenant, CUSTOMER, account_id)
        if record is not None and not _sees(caller, record.data):
            record = None  # out of the caller's sight: the same answer as an unknown account
        if record is not None and not record.data.get("deleted"):
            return record.data
        if (record is not None and record.data.get("deleted")) or time.monotonic() >= deadline:
            raise ValidationFailed.on(field, f"No account {account_id} (or it was deleted).", "not_found")
        time.sleep(0.25)


def _recent(record_id: str) -> bool:
    """Whether the id is a ULID the directory made a moment ago (its `account.created` on its way)."""
    try:
        made = ULID.from_str(record_id).datetime
    except ValueError:
        return False
    now = clock.now()
    return now - RECENT <= made <= now + timedelta(minutes=1)


def _apply(envelope: Envelope, uow: UnitOfWork, account_id: str, fields: dict[str, Any] | None) -> None:
    caller = service_caller(envelope.tenant_id, open_tenant=False)
    if survivor(caller, account_id) != account_id:
        return  # a late event about a merged account: its copy is gone (merges.py) and stays gone
    record = caller.store.get(caller.tenant, CUSTOMER, account_id)
    if fields is None:  # deleted
        if record is not None and not record.data.get("deleted"):
            caller.store.replace(uow, record, {**record.data, "deleted": True})
        elif record is None:
            gone = caller.store.new(
                caller.tenant, CUSTOMER, account_id, {"name": "", "deleted": True, "source_version": 0}
            )
            caller.store.add(uow, gone)
        return
    if record is None:
        caller.store.add(uow, caller.store.new(caller.tenant, CUSTOMER, account_id, {**fields, "consolidated": False}))
    elif not record.data.get("deleted") and fields["source_version"] > int(record.data.get("source_version") or 0):
        caller.store.replace(uow, record, {**record.data, **fields})


@subscribe("account.created")
@subscribe("account.updated")
def account_changed(envelope: Envelope, uow: UnitOfWork) -> None:
    payload = RecordChanged.model_validate(envelope.data)
    _apply(envelope, uow, payload.id, projected(payload.record))


@subscribe("account.deleted")
def account_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
    _apply(envelope, uow, RecordDeleted.model_validate(envelope.data).id, None)
