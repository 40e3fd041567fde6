"""The activities service's tenant settings (`T#<t>#SETTING#tenant`), see domain/tenant.py.

Admins change them; everyone in the tenant reads them (the reports show local weeks and days).
A new zone applies to reports asked for after the change and to data written after it; see
points.py and marketing.py for what that means for data already stored.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.activities.domain.tenant import ActivitySettings
from services.activities.service import Caller, register_default

TENANT = "tenant"

register_default(TENANT, lambda: ActivitySettings().model_dump(mode="json"))


def settings(caller: Caller) -> ActivitySettings:
    return ActivitySettings.model_validate(caller.setting(TENANT))


def replace_settings(caller: Caller, body: ActivitySettings) -> ActivitySettings:
    caller.require_admin()
    caller.save_setting(TENANT, body.model_dump(mode="json"))
    return body


def zone(caller: Caller) -> ZoneInfo:
    """The tenant's time zone (read once per request, like every setting)."""
    return settings(caller).zone
