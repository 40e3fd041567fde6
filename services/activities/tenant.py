"""The activities service's tenant settings (`T#<t>#SETTING#tenant`), see domain/tenant.py.

Admins change them; everyone in the tenant reads them (the reports show local weeks and days).
A new zone applies to reports asked for after the change and to data written after it; see
points.py and marketing.py for what that means for data already stored.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.activities.domain.tenant import ActivitySettings
from services.activities.service import Caller, register_default
from services.activities.store import Record
from shared.service import SETTING
from shared.store import ConcurrentUpdate, UnitOfWork, record_key

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


# The zone as a consumer knew it, by tenant: (the setting's version, None while the tenant has no
# setting of its own, and the zone). Kept for the process's life; a write that uses it carries a
# condition on that version (`zone_checked`), so a changed zone refuses the write and is read again.
_KNOWN: dict[str, tuple[int | None, ZoneInfo]] = {}


def zone_checked(caller: Caller, uow: UnitOfWork) -> ZoneInfo:
    """The tenant's time zone for a write in `uow`, read once per process rather than per batch.

    `uow` commits only while the setting is the one this zone came from (a ConditionCheck of its
    version, or of its absence): a zone saved meanwhile refuses the transaction (ConcurrentUpdate),
    forgets what was known, and the next try reads the new zone. So data written after a zone
    change uses the new zone, as when it was read in every batch (issue 18: no read per batch)."""
    tenant = caller.tenant
    if tenant not in _KNOWN:
        record = caller.store.get(tenant, SETTING, TENANT)
        data = record.data if record is not None else caller.defaults.value(TENANT)
        _KNOWN[tenant] = (record.version if record is not None else None, ActivitySettings.model_validate(data).zone)
    version, known = _KNOWN[tenant]
    condition = Record.version == version if version is not None else Record.pk.does_not_exist()

    def changed() -> Exception:
        _KNOWN.pop(tenant, None)
        return ConcurrentUpdate()

    uow.check(Record, record_key(tenant, SETTING, TENANT), SETTING.upper(), condition, changed)
    return known
