"""Contact orders [003]: the tenant's contact-order settings and the caller's permissions.

The settings (number prefix, list order, statuses, each role's permissions) are one tenant
setting, installed with the tenant's defaults; only admins change them.
"""

from __future__ import annotations

from services.activities.domain.order_settings import ContactOrderSettings, Permission, SettingsUpdate
from services.activities.service import Caller, register_default

SETTINGS = "contact_orders"

register_default(SETTINGS, lambda: ContactOrderSettings().model_dump(mode="json"))


def settings(caller: Caller) -> ContactOrderSettings:
    return ContactOrderSettings.model_validate(caller.setting(SETTINGS))


def permissions(caller: Caller) -> set[Permission]:
    return settings(caller).of(caller.role)


def update_settings(caller: Caller, body: SettingsUpdate) -> ContactOrderSettings:
    caller.require_admin()
    current = settings(caller).model_dump(mode="json")
    changes = body.model_dump(mode="json", exclude_unset=True)
    if "permissions" in changes:  # the roles sent are replaced, the others kept
        changes["permissions"] = {**current["permissions"], **changes["permissions"]}
    merged = ContactOrderSettings.model_validate({**current, **changes})
    caller.save_setting(SETTINGS, merged.model_dump(mode="json"))
    return merged
