"""Products: code (unique in the tenant), name, unit, unit price, default tax class, active.

Records: kind "product", id = a new id, data {code, name, unit, unit_price (a decimal string),
tax_class, active, created_at, updated_at}. The code's uniqueness is an item of its own,
`T#<t>#PRODUCT_CODE#<code>` (kind `product_code`, data {product_id}), put on the condition that
none exists in the transaction that writes the product (a code change moves it), so two creates
with one code never both succeed: the second is a 422 `duplicate` naming `code`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.invoicing import tax_classes
from services.invoicing.domain.catalogue import Product, ProductCreate, ProductUpdate
from services.invoicing.service import PRODUCTS, Caller
from services.invoicing.store import Record
from shared import clock
from shared.errors import NotFound, ValidationFailed
from shared.ids import new_id
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, kind_page, model_of
from shared.store import UnitOfWork

PRODUCT = "product"
CODE = "product_code"


def _taken(code: str) -> Exception:
    return ValidationFailed.on("code", f"The tenant has a product with code {code} already.", "duplicate")


def record_for(caller: Caller, product_id: str) -> Record:
    record = caller.store.get(caller.tenant, PRODUCT, product_id)
    if record is None:
        raise NotFound(f"No product {product_id}.")
    return record


def products_of(caller: Caller, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The tenant's products by id, in one read (absent ones left out)."""
    return {i: r.data for i, r in caller.store.get_many(caller.tenant, PRODUCT, ids).items()} if ids else {}


def _stage_code(caller: Caller, uow: UnitOfWork, code: str, product_id: str) -> None:
    item = caller.store.new(caller.tenant, CODE, code, {"product_id": product_id})
    caller.store.add(uow, item, on_conflict=lambda: _taken(code))


def create_product(caller: Caller, body: ProductCreate) -> Product:
    caller.require(Action.CREATE, PRODUCTS)
    tax_classes.usable(caller, body.tax_class, "tax_class")
    now = clock.now().isoformat()
    data = {**body.model_dump(mode="json"), "created_at": now, "updated_at": now}
    record = caller.store.new(caller.tenant, PRODUCT, new_id(), data)
    uow = UnitOfWork()
    caller.store.add(uow, record)
    _stage_code(caller, uow, body.code, record.record_id)
    uow.commit()
    return model_of(record, Product)


def get_product(caller: Caller, product_id: str) -> Product:
    return model_of(record_for(caller, product_id), Product)


def list_products(
    caller: Caller, cursor: str | None, limit: int, updated_since: datetime | None = None
) -> Page[Product]:
    return kind_page(caller, PRODUCT, cursor, limit, Product, updated_since)


def update_product(caller: Caller, product_id: str, body: ProductUpdate) -> Product:
    def run() -> Product:
        record = record_for(caller, product_id)
        caller.require(Action.CHANGE, PRODUCTS)
        changes = body.model_dump(mode="json", exclude_unset=True)
        changes = {k: v for k, v in changes.items() if record.data.get(k) != v}
        if not changes:
            return model_of(record, Product)
        if "tax_class" in changes:
            tax_classes.usable(caller, changes["tax_class"], "tax_class")
        uow = UnitOfWork()
        if "code" in changes:
            old = caller.store.get(caller.tenant, CODE, record.data["code"])
            if old is not None:
                caller.store.remove(uow, old)
            _stage_code(caller, uow, changes["code"], product_id)
        caller.store.replace(uow, record, {**record.data, **changes, "updated_at": clock.now().isoformat()})
        uow.commit()
        return model_of(record, Product)

    return commit(run)


def delete_product(caller: Caller, product_id: str) -> None:
    """Removes the product; orders that name it keep their lines (each line holds its own text and price)."""
    record = record_for(caller, product_id)
    caller.require(Action.DELETE, PRODUCTS)
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    code = caller.store.get(caller.tenant, CODE, record.data["code"])
    if code is not None:
        caller.store.remove(uow, code)
    uow.commit()
