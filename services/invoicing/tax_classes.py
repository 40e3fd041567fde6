"""Tax classes: the tenant's VAT classes with dated rates, one tenant setting (`tax_classes`).

A new tenant gets Finnish VAT with its history (`domain/catalogue.default_tax_classes`), installed
as every service installs its tenant defaults (`register_default`: `Caller.open` writes the
defaults a tenant lacks at its first request or event). The classes are one setting record
`{"items": [...]}`, written on its version, so two concurrent changes never lose one; a class is
addressed by its code (`/tax-classes/{code}`). A class in use is never deleted: `active: false`
keeps it for the orders that name it and refuses it on new lines.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from services.invoicing.domain.catalogue import (
    TaxClass,
    TaxClassCreate,
    TaxClassUpdate,
    default_tax_classes,
    rate_in_force,
    tax_class_out,
)
from services.invoicing.service import TAX_CLASSES, Caller, register_default
from shared import clock
from shared.errors import NotFound, ValidationFailed
from shared.permissions import Action

SETTING = "tax_classes"

register_default(SETTING, lambda: {"items": default_tax_classes()})


def _items(caller: Caller) -> list[dict[str, Any]]:
    return list(caller.setting(SETTING)["items"])


def classes_by_code(caller: Caller) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in _items(caller)}


def list_tax_classes(caller: Caller) -> list[TaxClass]:
    today = clock.now().date()
    return [tax_class_out(item, today) for item in _items(caller)]


def get_tax_class(caller: Caller, code: str) -> TaxClass:
    found = classes_by_code(caller).get(code)
    if found is None:
        raise NotFound(f"No tax class {code}.")
    return tax_class_out(found, clock.now().date())


def create_tax_class(caller: Caller, body: TaxClassCreate) -> TaxClass:
    caller.require(Action.CREATE, TAX_CLASSES)
    items = _items(caller)
    if any(item["code"] == body.code for item in items):
        raise ValidationFailed.on("code", f"The tenant has a tax class {body.code} already.", "duplicate")
    item = body.model_dump(mode="json")
    caller.save_setting(SETTING, {"items": [*items, item]})
    return tax_class_out(item, clock.now().date())


def update_tax_class(caller: Caller, code: str, body: TaxClassUpdate) -> TaxClass:
    items = _items(caller)
    index = next((i for i, item in enumerate(items) if item["code"] == code), None)
    if index is None:
        raise NotFound(f"No tax class {code}.")
    caller.require(Action.CHANGE, TAX_CLASSES)
    changes = body.model_dump(mode="json", exclude_unset=True)
    item = {**items[index], **changes}
    if item != items[index]:
        items[index] = item
        caller.save_setting(SETTING, {"items": items})
    return tax_class_out(item, clock.now().date())


def usable(caller: Caller, code: str, field: str) -> dict[str, Any]:
    """An active class by code, for a line or a product; 422 `not_found` naming `field` otherwise."""
    found = classes_by_code(caller).get(code)
    if found is None or not found.get("active", True):
        raise ValidationFailed.on(field, f"No active tax class {code}.", "not_found")
    return found


def rate_on(caller: Caller, code: str, day: date) -> Decimal | None:
    """The rate of the tenant's class `code` in force on `day` (None: no such class, or before its first rate)."""
    found = classes_by_code(caller).get(code)
    return rate_in_force(found["rates"], day) if found else None
