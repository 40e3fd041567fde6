"""A tenant's IP rules: which addresses may call its API (pure: no store, no boto3)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, Field

from services.access.domain.keys import MAX_ALLOWED_IPS, Network
from shared.types import INPUT, OUTPUT


class IpRules(BaseModel):
    """`deny` wins over `allow`; an empty `allow` allows every address `deny` does not name."""

    model_config = INPUT

    allow: list[Network] = Field(
        default_factory=list,
        max_length=MAX_ALLOWED_IPS,
        description="Addresses or CIDR blocks allowed (none: every address not denied); rules that would refuse"
        " the caller's own address are a 422 `locks_out`",
    )
    deny: list[Network] = Field(default_factory=list, max_length=MAX_ALLOWED_IPS, description="Addresses refused")


class IpRulesShown(IpRules):
    model_config = OUTPUT


def permitted(ip: str, allow: list[str], deny: list[str]) -> bool:
    """Whether the rules let `ip` in (an address that is not one is never let in by rules that have any)."""
    if not allow and not deny:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if any(address in ipaddress.ip_network(network) for network in deny):
        return False
    return not allow or any(address in ipaddress.ip_network(network) for network in allow)
