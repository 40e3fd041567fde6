"""Price lists: a customer account's own unit prices for products, overriding the products' prices.

Records: kind "price_list", id = `derived_id(account id, "price_list")` (one list an account: a
second create is a 409), data {account_id, name, items [{product_id, unit_price}], created_at,
updated_at}, listed under the account (`by_account`). A sales order line that names a product and
no unit price takes the customer's price for it, else the product's (`unit_price_for`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.invoicing import customers, products
from services.invoicing.domain.catalogue import PriceItem, PriceList, PriceListCreate, PriceListUpdate
from services.invoicing.service import PRICE_LISTS, Caller
from services.invoicing.store import Record
from shared import clock
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.ids import derived_id
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, kind_page, model_of
from shared.store import UnitOfWork

PRICE_LIST = "price_list"


def id_of(account_id: str) -> str:
    return derived_id(account_id, PRICE_LIST)


def record_for(caller: Caller, price_list_id: str) -> Record:
    record = caller.store.get(caller.tenant, PRICE_LIST, price_list_id)
    if record is None:
        raise NotFound(f"No price list {price_list_id}.")
    return record


def _check_products(caller: Caller, items: list[PriceItem]) -> None:
    found = products.products_of(caller, [i.product_id for i in items])
    errors = [n for n, item in enumerate(items) if item.product_id not in found]
    if errors:
        n = errors[0]
        raise ValidationFailed.on(f"items.{n}.product_id", f"No product {items[n].product_id}.", "not_found")


def create_price_list(caller: Caller, body: PriceListCreate) -> PriceList:
    caller.require(Action.CREATE, PRICE_LISTS)
    body = body.model_copy(update={"account_id": customers.survivor(caller, body.account_id)})  # merged: the survivor
    customers.known(caller, body.account_id)
    _check_products(caller, body.items)
    now = clock.now().isoformat()
    data = {**body.model_dump(mode="json"), "created_at": now, "updated_at": now}
    record = caller.store.new(caller.tenant, PRICE_LIST, id_of(body.account_id), data)
    record.link_account(caller.tenant, body.account_id)
    uow = UnitOfWork()
    caller.store.add(
        uow, record, on_conflict=lambda: Conflict(f"The account {body.account_id} has a price list already.")
    )
    uow.commit()
    return model_of(record, PriceList)


def get_price_list(caller: Caller, price_list_id: str) -> PriceList:
    return model_of(record_for(caller, price_list_id), PriceList)


def list_price_lists(
    caller: Caller, cursor: str | None, limit: int, updated_since: datetime | None = None
) -> Page[PriceList]:
    return kind_page(caller, PRICE_LIST, cursor, limit, PriceList, updated_since)


def update_price_list(caller: Caller, price_list_id: str, body: PriceListUpdate) -> PriceList:
    def run() -> PriceList:
        record = record_for(caller, price_list_id)
        caller.require(Action.CHANGE, PRICE_LISTS)
        if body.items is not None:
            _check_products(caller, body.items)
        changes = body.model_dump(mode="json", exclude_unset=True)
        if any(record.data.get(k) != v for k, v in changes.items()):
            uow = UnitOfWork()
            caller.store.replace(uow, record, {**record.data, **changes, "updated_at": clock.now().isoformat()})
            uow.commit()
        return model_of(record, PriceList)

    return commit(run)


def delete_price_list(caller: Caller, price_list_id: str) -> None:
    record = record_for(caller, price_list_id)
    caller.require(Action.DELETE, PRICE_LISTS)
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    uow.commit()


def prices_for(caller: Caller, account_id: str) -> dict[str, Decimal]:
    """The account's own unit prices by product id (none without an active price list: seed 002
    "Hinnastot", an inactive list updates no prices)."""
    record = caller.store.get(caller.tenant, PRICE_LIST, id_of(account_id))
    if record is None or not record.data.get("active", True):
        return {}
    return {item["product_id"]: Decimal(str(item["unit_price"])) for item in record.data.get("items") or []}


def unit_price_for(product: dict[str, Any], prices: dict[str, Decimal], product_id: str) -> Decimal:
    return prices.get(product_id, Decimal(str(product["unit_price"])))
