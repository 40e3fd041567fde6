"""Sales orders: created through the API or from a converted contact order; draft -> active -> ended/cancelled.

Records: kind "sales_order", id = a new id (or the id `contact_order.converted` names), data
{number, account_id, customer_name, status, currency, interval, start_date, end_date, billing,
lines [{line_no, product_id, description, credit, quantity, unit, unit_price, discount_percent,
tax_class, net_amount}], notes, owner, contact_order_id, created_by, created_at, updated_at,
activated_at, ended_at, cancelled_at}; amounts as decimal strings. Listed under the customer
(`by_account`). `number` (`SO-<n>`) is the tenant's running number, taken in the transaction that
creates the order (the kernel's counter: no gaps). Each line is resolved when written: the
product's name, unit and tax class fill what the line leaves out, its unit price is the
customer's price list's, else the product's; the tax class must be one of the tenant's active
classes (422 naming `lines.<n>.tax_class`). Every change commits with its `sales_order.*` event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from services.invoicing import billing_runs, currencies, customers, price_lists, products, tax_classes
from services.invoicing.domain.money import line_total
from services.invoicing.domain.orders import (
    EndOrder,
    OrderLineIn,
    SalesOrder,
    SalesOrderCreate,
    SalesOrderSummary,
    SalesOrderUpdate,
    Status,
    check_dates,
    may_become,
)
from services.invoicing.events import SalesOrderChanged
from services.invoicing.service import SALES_ORDERS, Caller, service_caller
from services.invoicing.store import Record
from services.invoicing.subscriptions import subscribe
from shared import clock
from shared.contracts.contact_orders import ContactOrderConverted
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.events import Change, Envelope, changes_of
from shared.ids import new_id
from shared.merges import redirect_if_merged
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, model_of, partition_page
from shared.store import AlreadyApplied, UnitOfWork, tenant_key
from shared.types import Owner

SALES_ORDER = "sales_order"
COUNTER = "sales_order"  # the kernel counter of order numbers (UnitOfWork.take_number)
NUMBER_BASE = 1000


def _owner(data: dict[str, Any]) -> Owner:
    owner = data.get("owner") or {}
    return Owner.model_construct(type="group" if owner.get("type") == "group" else "user", id=str(owner.get("id", "")))


def record_for(caller: Caller, order_id: str, action: Action = Action.VIEW) -> Record:
    """The order the caller may see (404 otherwise) and, for another action, act on (403)."""
    record = caller.store.get(caller.tenant, SALES_ORDER, order_id)
    if record is None or not caller.allows(Action.VIEW, SALES_ORDERS, _owner(record.data)):
        raise NotFound(f"No sales order {order_id}.")
    if action != Action.VIEW and not caller.allows(action, SALES_ORDERS, _owner(record.data)):
        raise Forbidden("Only the order's owner (or a member of its group), a manager or an admin may change it.")
    return record


def resolve_lines(caller: Caller, account_id: str, lines: list[OrderLineIn]) -> list[dict[str, Any]]:
    """The lines as stored: what a line leaves out filled from its product and the customer's
    price list; 422 naming `lines.<n>.<field>` for an unknown product or tax class."""
    wanted = [line.product_id for line in lines if line.product_id]
    found = products.products_of(caller, wanted)
    prices = price_lists.prices_for(caller, account_id) if wanted else {}
    out = []
    for n, line in enumerate(lines):
        product: dict[str, Any] = {}
        if line.product_id:
            product = found.get(line.product_id) or {}
            if not product or not product.get("active", True):
                raise ValidationFailed.on(f"lines.{n}.product_id", f"No active product {line.product_id}.", "not_found")
        tax_class = line.tax_class or product["tax_class"]
        tax_classes.usable(caller, tax_class, f"lines.{n}.tax_class")
        if line.unit_price is not None:
            unit_price = line.unit_price
        else:
            unit_price = price_lists.unit_price_for(product, prices, str(line.product_id))
        out.append(
            {
                "line_no": n + 1,
                "product_id": line.product_id,
                "description": line.description or product.get("name", ""),
                "credit": line.credit,
                "quantity": format(line.quantity, "f"),
                "unit": product.get("unit", "pcs"),
                "unit_price": format(unit_price, "f"),
                "discount_percent": format(line.discount_percent, "f"),
                "tax_class": tax_class,
                "net_amount": format(line_total(line.quantity, unit_price, line.discount_percent), "f"),
            }
        )
    return out


def _index(record: Record, tenant: str) -> None:
    record.link_account(tenant, record.data["account_id"])


def order_event(
    caller: Caller,
    event_type: str,
    record: Record,
    changed: list[str] | None = None,
    changes: list[Change] | None = None,
) -> Any:
    data = record.data
    payload = SalesOrderChanged(
        id=record.record_id,
        number=data["number"],
        account_id=data["account_id"],
        status=data["status"],
        currency=data["currency"],
        interval=data["interval"],
        start_date=date.fromisoformat(data["start_date"]),
        end_date=date.fromisoformat(data["end_date"]) if data.get("end_date") else None,
        contact_order_id=data.get("contact_order_id"),
        changed=changed or [],
    )
    return caller.event(event_type, payload, changes=changes)


def _new_record(caller: Caller, uow: UnitOfWork, order_id: str, data: dict[str, Any]) -> Record:
    number = uow.take_number(caller.tenant, COUNTER)
    now = clock.now().isoformat()
    stored = {**data, "number": f"SO-{NUMBER_BASE + number}", "created_at": now, "updated_at": now}
    record = caller.store.new(caller.tenant, SALES_ORDER, order_id, stored)
    _index(record, caller.tenant)
    return record


def create_order(caller: Caller, body: SalesOrderCreate) -> SalesOrder:
    caller.require(Action.CREATE, SALES_ORDERS)
    owner = body.owner or Owner(type="user", id=caller.user_id)
    if not caller.may_give_to(owner):
        raise ValidationFailed.on("owner", "The owner is out of your reach.", "not_found")
    currencies.usable(caller, body.currency)
    body = body.model_copy(update={"account_id": customers.survivor(caller, body.account_id)})  # merged: the survivor
    customer = customers.known(caller, body.account_id)
    lines = resolve_lines(caller, body.account_id, body.lines)
    data = {
        **body.model_dump(mode="json", exclude={"lines", "owner"}),
        "lines": lines,
        "owner": owner.model_dump(),
        "customer_name": customer.get("name"),
        "status": Status.draft.value,
        "created_by": caller.user_id,
    }

    def run() -> SalesOrder:
        uow = UnitOfWork()
        record = _new_record(caller, uow, new_id(), data)
        caller.store.add(uow, record)
        uow.publish(order_event(caller, "sales_order.created", record))
        uow.commit()
        return model_of(record, SalesOrder)

    return commit(run)


def get_order(caller: Caller, order_id: str) -> SalesOrder:
    return model_of(record_for(caller, order_id), SalesOrder)


def list_orders(
    caller: Caller,
    cursor: str | None,
    limit: int,
    account_id: str | None = None,
    status: Status | None = None,
) -> Page[SalesOrderSummary]:
    """The orders the caller sees, in id order: a customer's (`by_account`) or the tenant's
    (`by_type`); `status` and the permission check narrow each page."""
    tenant = caller.tenant
    redirect_if_merged(caller.store, tenant, account=account_id)  # 301 to the survivor's
    if account_id:
        index, key, sort_key = (
            Record.by_account,
            tenant_key(tenant, "ACCOUNT", account_id, "SALES_ORDER"),
            Record.gsi2sk,
        )
    else:
        index, key, sort_key = Record.by_type, tenant_key(tenant, SALES_ORDER.upper()), Record.gsi1sk
    condition = (Record.fields["status"] == status.value) if status else None
    keep = None
    if caller.visible_owners(SALES_ORDERS) is not None:

        def keep(batch: list[Any]) -> list[Any]:
            return [r for r in batch if caller.allows(Action.VIEW, SALES_ORDERS, _owner(r.data))]

    asked = json.dumps({"account_id": account_id, "status": status.value if status else None}, sort_keys=True)
    scope = f"sales_orders:{hashlib.sha256(asked.encode()).hexdigest()[:24]}"
    return partition_page(
        caller, scope, cursor, limit, index, key, sort_key, SalesOrderSummary, condition=condition, keep=keep
    )


def update_order(caller: Caller, order_id: str, body: SalesOrderUpdate) -> SalesOrder:
    """A merge patch of a draft or active order. An active order's `currency` and customer are
    fixed (422 naming the field); an ended or cancelled order is a 409."""

    def run() -> SalesOrder:
        record = record_for(caller, order_id, Action.CHANGE)
        data = record.data
        sent = body.model_dump(mode="json", exclude_unset=True)
        changes = {k: v for k, v in sent.items() if k != "lines" and data.get(k) != v}
        if "lines" in sent:
            changes["lines"] = sent["lines"]  # compared once resolved
        if not changes:
            return model_of(record, SalesOrder)
        status = Status(data["status"])
        if status not in (Status.draft, Status.active):
            raise Conflict(f"A {status.value} sales order is not changed.")
        if status != Status.draft:
            if "currency" in changes:
                raise ValidationFailed.on(
                    "currency", "An active order's currency is fixed: its invoices are in it.", "currency_fixed"
                )
            if "account_id" in changes:
                raise ValidationFailed.on("account_id", "An active order's customer is fixed.", "fixed")
        if "currency" in changes:
            currencies.usable(caller, changes["currency"])
        if "owner" in changes:
            owner = Owner.model_validate(changes["owner"])
            if not caller.allows(Action.ASSIGN, SALES_ORDERS, _owner(data)) or not caller.may_give_to(owner):
                raise Forbidden("You may not give this order to that owner.")
        start = date.fromisoformat(changes.get("start_date", data["start_date"]))
        end_text = changes["end_date"] if "end_date" in changes else data.get("end_date")
        check_dates(start, date.fromisoformat(end_text) if end_text else None)
        account_id = changes.get("account_id", data["account_id"])
        after = {**data, **changes}
        if "account_id" in changes:
            after["customer_name"] = customers.known(caller, account_id).get("name")
        if "lines" in changes:
            after["lines"] = resolve_lines(caller, account_id, body.lines or [])
            if after["lines"] == data.get("lines"):
                changes.pop("lines")
        if after == data:
            return model_of(record, SalesOrder)
        after["updated_at"] = clock.now().isoformat()
        record.set_due(caller.tenant, billing_runs.next_due(after))  # its dates may have moved
        uow = UnitOfWork()
        caller.store.replace(uow, record, after)
        _index(record, caller.tenant)
        uow.publish(order_event(caller, "sales_order.updated", record, sorted(changes), changes_of(data, after)))
        uow.commit()
        return model_of(record, SalesOrder)

    return commit(run)


def _transition(caller: Caller, order_id: str, target: Status, extra: dict[str, Any] | None = None) -> SalesOrder:
    def run() -> SalesOrder:
        record = record_for(caller, order_id, Action.DELETE if target == Status.cancelled else Action.CHANGE)
        current = Status(record.data["status"])
        if current == target:
            return model_of(record, SalesOrder)  # asked twice: the order is already there
        if not may_become(current, target):
            raise Conflict(f"A {current.value} sales order cannot become {target.value}.")
        now = clock.now().isoformat()
        after = {**record.data, **(extra or {}), "status": target.value, "updated_at": now}
        after[{"active": "activated_at", "ended": "ended_at", "cancelled": "cancelled_at"}[target.value]] = now
        # listed for the daily billing run at the day after its next period ends (none once cancelled)
        record.set_due(caller.tenant, billing_runs.next_due(after))
        uow = UnitOfWork()
        caller.store.replace(uow, record, after)
        uow.publish(
            order_event(caller, f"sales_order.{'activated' if target == Status.active else target.value}", record)
        )
        uow.commit()
        return model_of(record, SalesOrder)

    return commit(run)


def activate_order(caller: Caller, order_id: str) -> SalesOrder:
    """draft -> active: its periods are billed from now on (the currency is fixed from here)."""
    return _transition(caller, order_id, Status.active)


def end_order(caller: Caller, order_id: str, body: EndOrder) -> SalesOrder:
    """active -> ended, on `end_date` (the order's own, else today): periods after it are not billed."""
    record = record_for(caller, order_id, Action.CHANGE)
    end = body.end_date
    if end is None:
        stored = record.data.get("end_date")
        end = date.fromisoformat(stored) if stored else clock.now().date()
    check_dates(date.fromisoformat(record.data["start_date"]), end)
    return _transition(caller, order_id, Status.ended, {"end_date": end.isoformat()})


def cancel_order(caller: Caller, order_id: str) -> SalesOrder:
    """draft or active -> cancelled (whoever may delete the order: its owner, managers, admins)."""
    return _transition(caller, order_id, Status.cancelled)


@subscribe("contact_order.converted")
def from_contact_order(envelope: Envelope, uow: UnitOfWork) -> None:
    """A draft sales order from a converted contact order, with the id the event names: a
    redelivery (or a second event) finds it and makes nothing. Its one line is the work done
    (hours at no price yet, standard rate): the seller prices and activates it."""
    payload = ContactOrderConverted.model_validate(envelope.data)
    caller = service_caller(envelope.tenant_id)
    if caller.store.get(caller.tenant, SALES_ORDER, payload.sales_order_id) is not None:
        return
    account_id = customers.survivor(caller, payload.account_id)  # converted after a merge: the survivor's
    customer = caller.store.get(caller.tenant, customers.CUSTOMER, account_id)
    quantity = Decimal(str(payload.hours_spent)).quantize(Decimal("0.01")) if payload.hours_spent else Decimal(1)
    line = {
        "line_no": 1,
        "product_id": None,
        "description": f"{payload.number}: {payload.subject}"[:500],
        "credit": False,
        "quantity": format(quantity, "f"),
        "unit": "h" if payload.hours_spent else "pcs",
        "unit_price": "0",
        "discount_percent": "0",
        "tax_class": "standard",
        "net_amount": "0.00",
    }
    owner = payload.owner_id or payload.converted_by
    today = clock.now().date()
    start = payload.planned_date or today
    data = {
        "account_id": account_id,
        "customer_name": customer.data.get("name") if customer else None,
        "status": Status.draft.value,
        "currency": "EUR",
        "interval": "monthly",
        "start_date": start.isoformat(),
        "end_date": None,
        "billing": "arrears",
        "lines": [line],
        "notes": "\n".join(payload.notes)[-4000:],
        "owner": {"type": "user", "id": owner},
        "contact_order_id": payload.id,
        "created_by": payload.converted_by,
    }
    record = _new_record(caller, uow, payload.sales_order_id, data)
    caller.store.add(uow, record, on_conflict=AlreadyApplied)
    uow.publish(order_event(caller, "sales_order.created", record))
