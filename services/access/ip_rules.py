"""A tenant's IP rules (`/ip-rules`): admins read and replace them; the authorizer applies them to
every user and API key of the tenant (docs/decisions.md, "Tenant IP rules").

An admin cannot lock themselves out: rules that would refuse the address the change comes from
are a 422 naming the list that refuses it, and nothing is saved.
"""

from __future__ import annotations

from services.access.checks import SETTING
from services.access.domain.ip_rules import IpRules, IpRulesShown, permitted
from services.access.service import Caller, register_default
from shared.errors import DomainError, FieldError
from shared.store import UnitOfWork

register_default(SETTING, lambda: IpRules().model_dump(mode="json"))


class LockedOut(DomainError):
    status, code, title = 422, "validation_failed", "Validation failed"


def get_rules(caller: Caller) -> IpRulesShown:
    caller.require_admin()
    caller.address_setting(SETTING)
    return IpRulesShown.model_validate(caller.setting(SETTING))


def replace_rules(caller: Caller, body: IpRules, current_ip: str) -> IpRulesShown:
    """Replace the rules; If-Match is evaluated on them (412)."""
    caller.require_admin()
    caller.address_setting(SETTING)
    refused = [
        FieldError(field=name, message=f"{current_ip} would be refused", code="locks_out")
        for name, allow, deny in (("allow", body.allow, []), ("deny", [], body.deny))
        if not permitted(current_ip, allow, deny)
    ]
    if refused:
        raise LockedOut(f"These rules would refuse your own address ({current_ip}): you would be locked out.", refused)
    uow = UnitOfWork()
    caller.stage_setting(uow, SETTING, body.model_dump(mode="json"))
    uow.commit()
    caller.forget_setting(SETTING)
    return IpRulesShown.model_validate(body.model_dump(mode="json"))
