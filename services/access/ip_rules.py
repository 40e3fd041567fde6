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
    if not permitted(current_ip, body.allow, []):
        raise LockedOut(_locked_out(current_ip), [FieldError(field="allow", message=f"{current_ip} is not in it")])
    if not permitted(current_ip, [], body.deny):
        raise LockedOut(_locked_out(current_ip), [FieldError(field="deny", message=f"{current_ip} is in it")])
    uow = UnitOfWork()
    caller.stage_setting(uow, SETTING, body.model_dump(mode="json"))
    uow.commit()
    caller.forget_setting(SETTING)
    return IpRulesShown.model_validate(body.model_dump(mode="json"))


def _locked_out(ip: str) -> str:
    return f"These rules would refuse your own address ({ip}): you would be locked out."
