"""Merged accounts (`account.merged`, issue 24 item 4) as invoicing applies them (shared/merges.py).

Invoicing references accounts only (a sales order's or invoice's `account_id`, a price list, the
customer copy); it holds no contact ids, so `contact.merged` is not subscribed. The steps:
1. the kernel's markers (`mark_merged`): from then on a late `account.*` about a merged id changes
   nothing (customers.py) and an order or price list naming it goes to the survivor (`customers.survivor`);
2. each sales order listed under a merged account moves to the survivor in its own transaction,
   with `sales_order.updated` (account_id, customer_name: the survivor's name);
3. each invoice and credit note listed there moves too: a draft takes the survivor's name; an
   issued one keeps the buyer name it was issued with (a sent document) and only lists under the
   survivor;
4. a merged account's price list: its prices for products the survivor's list lacks join the
   survivor's list (made when it has none), and the merged list goes, in one transaction;
5. the survivor's customer copy is refreshed from the event's `record` when that is newer (made
   when invoicing had none); the merged customers' copies are removed.
Each step re-reads what it changes and skips what no longer names a merged id, so a crash anywhere
and a second delivery leave every reference on the survivor once.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from services.invoicing import customers, invoices, price_lists
from services.invoicing.domain.customers import projected
from services.invoicing.orders import SALES_ORDER, order_event
from services.invoicing.service import Caller, service_caller
from services.invoicing.subscriptions import subscribe
from shared import clock
from shared.events import Envelope
from shared.merges import mark_merged, merge_of, move_each
from shared.observability import logger
from shared.store import UnitOfWork, run_with_retries


def _survivor_name(caller: Caller, target: str, record: dict[str, Any]) -> str | None:
    found = caller.store.get(caller.tenant, customers.CUSTOMER, target)
    name = (found.data.get("name") if found else None) or record.get("name")
    return str(name) if name else None


def _move_order(caller: Caller, merged: set[str], target: str, name: str | None, order_id: str) -> bool:
    record = caller.store.get(caller.tenant, SALES_ORDER, order_id)
    if record is None or record.data.get("account_id") not in merged:
        return False
    now = clock.now().isoformat()
    after = {**record.data, "account_id": target, "customer_name": name, "updated_at": now}
    record.link_account(caller.tenant, target)
    uow = UnitOfWork()
    caller.store.replace(uow, record, after)
    uow.publish(order_event(caller, "sales_order.updated", record, ["account_id", "customer_name"]))
    uow.commit()
    return True


def _move_invoice(caller: Caller, merged: set[str], target: str, name: str | None, invoice_id: str) -> bool:
    record = caller.store.get(caller.tenant, invoices.INVOICE, invoice_id)
    if record is None or record.data.get("account_id") not in merged:
        return False
    after = {**record.data, "account_id": target, "updated_at": clock.now().isoformat()}
    if after.get("status") == "draft":  # not sent yet: it goes out under the survivor's name
        after["customer_name"] = name
    record.link_account(caller.tenant, target)
    uow = UnitOfWork()
    caller.store.replace(uow, record, after)
    uow.commit()
    return True


def _move_price_list(caller: Caller, merged_id: str, target: str) -> bool:
    """The merged account's prices join the survivor's list (its own price of a product wins)."""
    old = caller.store.get(caller.tenant, price_lists.PRICE_LIST, price_lists.id_of(merged_id))
    if old is None:
        return False
    kept = caller.store.get(caller.tenant, price_lists.PRICE_LIST, price_lists.id_of(target))
    now = clock.now().isoformat()
    uow = UnitOfWork()
    if kept is None:
        data = {**old.data, "account_id": target, "created_at": now, "updated_at": now}
        new = caller.store.new(caller.tenant, price_lists.PRICE_LIST, price_lists.id_of(target), data)
        new.link_account(caller.tenant, target)
        caller.store.add(uow, new)
    else:
        items = list(kept.data.get("items") or [])
        priced = {str(i.get("product_id")) for i in items}
        added = [i for i in old.data.get("items") or [] if str(i.get("product_id")) not in priced]
        if added:
            caller.store.replace(uow, kept, {**kept.data, "items": items + added, "updated_at": now})
    caller.store.remove(uow, old)
    uow.commit()
    return True


def _refresh_customer(caller: Caller, target: str, record: dict[str, Any]) -> None:
    if not record:
        return
    fields = projected(record)
    found = caller.store.get(caller.tenant, customers.CUSTOMER, target)
    uow = UnitOfWork()
    if found is None:
        made = caller.store.new(caller.tenant, customers.CUSTOMER, target, {**fields, "consolidated": False})
        caller.store.add(uow, made)
    elif not found.data.get("deleted") and fields["source_version"] > int(found.data.get("source_version") or 0):
        caller.store.replace(uow, found, {**found.data, **fields})
    if len(uow):
        uow.commit()


def _drop_customer(caller: Caller, merged_id: str) -> bool:
    found = caller.store.get(caller.tenant, customers.CUSTOMER, merged_id)
    if found is None:
        return False
    uow = UnitOfWork()
    caller.store.remove(uow, found)
    uow.commit()
    return True


@subscribe("account.merged")
def on_account_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    """Move every reference to the merged accounts, each in a write of its own (the event's unit of
    work takes only the dedupe marker)."""
    entity, merge = merge_of(envelope)
    caller = service_caller(envelope.tenant_id, open_tenant=False)
    mark_merged(caller.store, caller.tenant, entity, merge)
    target = customers.survivor(caller, merge.id)
    merged = set(merge.merged_ids) - {target}
    if target == merge.id:  # a later merge moved the survivor on: its own event refreshes the copy
        run_with_retries(partial(_refresh_customer, caller, target, merge.record))
    name = _survivor_name(caller, target, merge.record)
    moved = {"orders": 0, "invoices": 0, "price_lists": 0, "customers": 0}
    for merged_id in sorted(merged):
        orders = [r.record_id for r in caller.store.of_account(caller.tenant, merged_id, SALES_ORDER)]
        moved["orders"] += move_each(orders, partial(_move_order, caller, merged, target, name))
        found = [r.record_id for r in caller.store.of_account(caller.tenant, merged_id, invoices.INVOICE)]
        moved["invoices"] += move_each(found, partial(_move_invoice, caller, merged, target, name))
        moved["price_lists"] += move_each([merged_id], partial(_move_price_list, caller, target=target))
        moved["customers"] += move_each([merged_id], partial(_drop_customer, caller))
    logger.info("accounts merged", extra={"survivor_id": target, "merge_id": merge.merge_id, **moved})
