"""The tenant's audit settings: how long its audit records are kept (`retention_days`).

No tenant-wide retention existed to reuse (the webhooks service keeps its delivery log's own), so
the audit trail has its setting, with a default of a year (docs/decisions.md, "Audit trail").
The consumer reads the settings of a batch's tenants in one BatchGetItem (`retention_days`): a
change applies to the records written from then on.
"""

from __future__ import annotations

from services.audit.domain.trail import AuditSetup, AuditSetupUpdate
from services.audit.retention import SETTING
from services.audit.service import Caller, register_default
from shared.contracts.settings import SettingChanged, setting_id
from shared.events import changes_of
from shared.store import UnitOfWork

register_default(SETTING, lambda: AuditSetup().model_dump(mode="json"))


def get_settings(caller: Caller) -> AuditSetup:
    """The settings as a route shows them (admins only): their version is the ETag."""
    caller.require_admin()
    return AuditSetup.model_validate(caller.address_setting(SETTING))


def update_settings(caller: Caller, body: AuditSetupUpdate) -> AuditSetup:
    """A merge patch; If-Match is evaluated on the settings (412)."""
    caller.require_admin()
    before = AuditSetup.model_validate(caller.address_setting(SETTING))
    merged = body.merged(before)
    uow = UnitOfWork()
    caller.stage_setting(uow, SETTING, merged.model_dump(mode="json"), published=True)
    uow.commit()
    changes = changes_of(before, merged)
    if changes:  # the trail records its own setting's change itself: it has no outbox
        from services.audit.trail import record_now

        payload = SettingChanged(id=setting_id("audit", SETTING), service="audit", name=SETTING)
        record_now(caller.event("setting.updated", payload, changes=changes))
    return merged
