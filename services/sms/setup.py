"""The tenant's SMS settings (domain/setup.py): anyone in the tenant reads them, admins change them."""

from __future__ import annotations

from services.sms.domain.setup import SmsSetup, SmsSetupUpdate
from services.sms.events import SmsSettingsUpdated
from services.sms.service import Caller, register_default
from shared.errors import FieldError, Forbidden
from shared.events import changes_of
from shared.store import UnitOfWork

SETTING = "sms"

register_default(SETTING, lambda: SmsSetup().model_dump(mode="json"))


def setup(caller: Caller) -> SmsSetup:
    return SmsSetup.model_validate(caller.setting(SETTING))


def update_setup(caller: Caller, body: SmsSetupUpdate) -> SmsSetup:
    """A merge patch; a change publishes `sms_settings.updated` with it, the values the settings
    have change nothing."""
    caller.require_admin()
    current = setup(caller)
    merged = body.merged(current)
    changes = changes_of(current, merged)
    if not changes:
        return merged
    uow = UnitOfWork()
    caller.stage_setting(uow, SETTING, merged.model_dump(mode="json"), published=True)
    payload = SmsSettingsUpdated.model_validate(merged.model_dump(include=set(SmsSettingsUpdated.model_fields)))
    uow.publish(caller.event("sms_settings.updated", payload, changes=changes))
    uow.commit()
    return merged


def require_active(caller: Caller) -> SmsSetup:
    """The settings of a tenant that may send; a 403 naming `active` when SMS is off."""
    current = setup(caller)
    if not current.active:
        raise SmsNotActive()
    return current


class SmsNotActive(Forbidden):
    code = "sms_not_active"

    def __init__(self) -> None:
        super().__init__(
            "SMS is not activated for this tenant: an admin sets `active` in /sms/settings.",
            [FieldError(field="active", message="SMS is not activated", code="sms_not_active")],
        )
