"""Tenant lists of the activities service: activity types and the CRM classification [001]."""

from __future__ import annotations

from typing import Any

from services.activities.domain.crm import (
    CrmCategory,
    CrmCode,
    CrmSettings,
    check_categories,
    default_crm_settings,
)
from services.activities.domain.models import ActivityType, default_activity_types
from services.activities.service import Caller, register_default
from shared.errors import FieldError, ValidationFailed

ACTIVITY_TYPES = "activity_types"
CRM = "crm"
CRM_LISTS = ("kinds", "types", "properties", "categories")

register_default(ACTIVITY_TYPES, lambda: {"items": [t.model_dump(mode="json") for t in default_activity_types()]})
register_default(CRM, lambda: default_crm_settings().model_dump(mode="json"))


def activity_types(caller: Caller) -> list[ActivityType]:
    return [ActivityType.model_validate(i) for i in caller.setting(ACTIVITY_TYPES)["items"]]


def activity_type(caller: Caller, code: str, field_name: str = "type") -> ActivityType:
    """An active type by code; 422 naming the field when there is none."""
    found = next((t for t in activity_types(caller) if t.code == code), None)
    if found is None or not found.active:
        raise ValidationFailed.on(field_name, f"No active activity type {code}.", "not_found")
    return found


def replace_activity_types(caller: Caller, items: list[ActivityType]) -> list[ActivityType]:
    caller.require_admin()
    caller.save_setting(ACTIVITY_TYPES, {"items": [t.model_dump(mode="json") for t in items]})
    return items


def crm_settings(caller: Caller) -> CrmSettings:
    return CrmSettings.model_validate(caller.setting(CRM))


def replace_crm_list(caller: Caller, name: str, items: list[CrmCode] | list[CrmCategory]) -> CrmSettings:
    """Replace one of the four lists; categories must keep naming existing kinds and types."""
    caller.require_admin()
    current = crm_settings(caller).model_dump(mode="json")
    current[name] = [i.model_dump(mode="json") for i in items]
    settings = CrmSettings.model_validate(current)
    if name == "categories":
        check_categories(settings, settings.categories)
    else:
        _check_still_used(settings, name)
    caller.save_setting(CRM, settings.model_dump(mode="json"))
    return settings


def _check_still_used(settings: CrmSettings, name: str) -> None:
    """Kinds and types that a category names cannot be removed."""
    field_of = {"kinds": "kind", "types": "type"}.get(name)
    if field_of is None:
        return
    codes = {i.code for i in getattr(settings, name)}
    missing: list[Any] = [c for c in settings.categories if getattr(c, field_of) not in codes]
    if missing:
        errors = [
            FieldError(
                field="items", message=f"Category {c.code} uses {field_of} {getattr(c, field_of)}.", code="in_use"
            )
            for c in missing
        ]
        raise ValidationFailed(f"A {field_of} that a category uses cannot be removed.", errors)
