"""The tenant's SMS settings (domain/setup.py): anyone in the tenant reads them, admins change them."""

from __future__ import annotations

from services.sms.domain.setup import SmsSetup, SmsSetupUpdate
from services.sms.service import Caller, register_default
from shared.errors import FieldError, Forbidden

SETTING = "sms"

register_default(SETTING, lambda: SmsSetup().model_dump(mode="json"))


def setup(caller: Caller) -> SmsSetup:
    return SmsSetup.model_validate(caller.setting(SETTING))


def update_setup(caller: Caller, body: SmsSetupUpdate) -> SmsSetup:
    caller.require_admin()
    merged = body.merged(setup(caller))
    caller.save_setting(SETTING, merged.model_dump(mode="json"))
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
