"""CRM event classification [001]: kinds, types, properties and categories.

The category is the top choice: choosing it sets the kind and type from settings, and the user
may change them only if the category allows choice. Properties are checkboxes that refine the
category and type. A category may carry a sales target: managers then set weekly or monthly
count targets per seller, and statistics accrue as sellers log events in that category.
The defaults below are installed for every new tenant; admins edit all of them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.errors import FieldError, ValidationFailed
from shared.types import INPUT, Code, Text100

from .models import unique_codes


class CrmCode(BaseModel):
    """One item of the kinds, types or properties lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    label: Text100
    active: bool = True


class CrmCategory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    label: Text100
    kind: Code = Field(description="The kind an event of this category gets")
    type: Code = Field(description="The type an event of this category gets")
    allow_choice: bool = Field(False, description="Whether a user may change the kind and type")
    sales_target: bool = Field(False, description="Whether managers set count targets for it")
    active: bool = True


class CrmCodeList(BaseModel):
    model_config = INPUT

    items: Annotated[list[CrmCode], Field(min_length=1, max_length=200, description="Each code at most once")]

    _unique = field_validator("items")(classmethod(lambda cls, items: unique_codes(items)))


class CrmCategoryList(BaseModel):
    model_config = INPUT

    items: Annotated[list[CrmCategory], Field(min_length=1, max_length=200, description="Each code at most once")]

    _unique = field_validator("items")(classmethod(lambda cls, items: unique_codes(items)))


class CrmSettings(BaseModel):
    """A tenant's four lists."""

    kinds: list[CrmCode]
    types: list[CrmCode]
    properties: list[CrmCode]
    categories: list[CrmCategory]

    def category(self, code: str) -> CrmCategory | None:
        return next((c for c in self.categories if c.code == code), None)


def default_crm_settings() -> CrmSettings:
    def codes(*pairs: tuple[str, str]) -> list[CrmCode]:
        return [CrmCode(code=c, label=label) for c, label in pairs]

    return CrmSettings(
        kinds=codes(("events", "Events"), ("sales", "Sales"), ("marketing", "Marketing")),
        types=codes(
            ("crm_events", "CRM events"),
            ("leads", "Leads"),
            ("sales_actions", "Sales actions"),
            ("customer_visits", "Customer visits"),
        ),
        properties=codes(
            ("customer_feedback", "Customer feedback"), ("commercial", "Commercial"), ("advisory", "Advisory")
        ),
        categories=[
            CrmCategory(code="crm_event", label="CRM event", kind="events", type="crm_events"),
            CrmCategory(code="lead", label="Lead", kind="sales", type="leads"),
            CrmCategory(code="sales_action", label="Sales action", kind="sales", type="sales_actions"),
            CrmCategory(code="customer_visit", label="Customer visit", kind="events", type="customer_visits"),
        ],
    )


def _active(items: list[Any], code: str) -> bool:
    return any(i.code == code and i.active for i in items)


def classify(settings: CrmSettings, data: dict[str, Any], sent: set[str]) -> dict[str, Any]:
    """The CRM fields of an activity after a create or change.

    `data` is the activity's fields after the change, `sent` the names the client sent. With a
    category, kind and type come from it; a kind or type the client sent that differs is
    refused (422 naming the field) unless the category allows choice. Every code must be an
    active item of its list.
    """
    result: dict[str, Any] = {k: data.get(k) for k in ("category", "crm_kind", "crm_type")}
    properties: list[str] = list(data.get("properties") or [])
    result["properties"] = properties
    errors: list[FieldError] = []
    code = result["category"]
    if code:
        category = settings.category(code)
        if category is None or not category.active:
            raise ValidationFailed.on("category", f"No active CRM category {code}.", "not_found")
        for name, default in (("crm_kind", category.kind), ("crm_type", category.type)):
            chosen = result[name] if name in sent else None
            if chosen and chosen != default and not category.allow_choice:
                errors.append(
                    FieldError(
                        field=name,
                        message=f"The category {code} sets the {name[4:]} to {default}; it does not allow choice.",
                        code="category_fixed",
                    )
                )
            result[name] = chosen if (chosen and category.allow_choice) else default
    for name, items in (("crm_kind", settings.kinds), ("crm_type", settings.types)):
        value = result[name]
        if value and name in sent and not _active(items, value):
            errors.append(FieldError(field=name, message=f"No active CRM {name[4:]} {value}.", code="not_found"))
    for index, prop in enumerate(properties):
        if "properties" in sent and not _active(settings.properties, prop):
            errors.append(
                FieldError(field=f"properties.{index}", message=f"No active CRM property {prop}.", code="not_found")
            )
    if errors:
        raise ValidationFailed("The CRM classification is not valid.", errors)
    return result


def check_categories(settings: CrmSettings, categories: list[CrmCategory]) -> None:
    """Each category's kind and type must be items of the kinds and types lists."""
    errors = []
    kinds = {k.code for k in settings.kinds}
    types = {t.code for t in settings.types}
    for index, category in enumerate(categories):
        if category.kind not in kinds:
            errors.append(
                FieldError(field=f"items.{index}.kind", message=f"No CRM kind {category.kind}.", code="not_found")
            )
        if category.type not in types:
            errors.append(
                FieldError(field=f"items.{index}.type", message=f"No CRM type {category.type}.", code="not_found")
            )
    if errors:
        raise ValidationFailed("A category names a kind or type that does not exist.", errors)
