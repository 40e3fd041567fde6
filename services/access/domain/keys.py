"""API keys: what an admin sends and gets back, and the rules of a key (pure: no store, no boto3)."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from shared.auth import Role
from shared.key_permissions import MAX_PERMISSIONS
from shared.types import INPUT, OUTPUT, Name200, Utc, UtcTime

# A key as the client sends it: `kk.<tenant>.<key id>.<secret>`. The part before the secret is the
# visible prefix (shown in lists, logs and the console); the tenant and id in it let the authorizer
# read the key with one GetItem. The secret is 32 random bytes (256 bits).
SCHEME = "kk"
SECRET_BYTES = 32
MAX_ALLOWED_IPS = 50


class KeyStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    REVOKED = "revoked"  # for good: a revoked key is kept (its id stays in the audit) but never works again


def new_secret(tenant_id: str, key_id: str) -> str:
    return f"{prefix(tenant_id, key_id)}.{secrets.token_urlsafe(SECRET_BYTES)}"


def prefix(tenant_id: str, key_id: str) -> str:
    return f"{SCHEME}.{tenant_id}.{key_id}"


def secret_hash(secret: str) -> str:
    """SHA-256 of the whole key: the secret is 256 random bits, so no slow hash is needed
    (docs/decisions.md, "API keys")."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(secret: str) -> tuple[str, str] | None:
    """The tenant and key id a key names, or None when it is not shaped as a key."""
    parts = secret.split(".")
    if len(parts) != 4 or parts[0] != SCHEME or not all(parts):
        return None
    return parts[1], parts[2]


def is_key(token: str) -> bool:
    return token.startswith(f"{SCHEME}.")


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        # A form the pattern allows but `ipaddress` refuses (an octet over 255, a prefix too long).
        raise PydanticCustomError("not_a_network", "not an IPv4 or IPv6 address or CIDR block") from None


def ip_allowed(ip: str, allowed: list[str]) -> bool:
    """Whether `ip` is in one of the `allowed` networks (any IP when the list is empty)."""
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in allowed)


# An address or CIDR block: its form here, its values (octets, prefix lengths) checked by `ipaddress`.
NETWORK_PATTERN = r"^[0-9A-Fa-f:.]{2,45}(/[0-9]{1,3})?$"
Network = Annotated[str, Field(pattern=NETWORK_PATTERN, max_length=49), AfterValidator(_network)]
# A permission's form (shared/key_permissions.py); that it names a resource, action or route of the
# API is checked against the merged OpenAPI document (422 `invalid_permission`).
PERMISSION_PATTERN = (
    r"^([a-z0-9-]{1,64}:[a-z0-9-]{1,64}|(\*|GET|HEAD|POST|PUT|PATCH|DELETE) /[A-Za-z0-9_./{}*-]{0,300})$"
)
Permission = Annotated[str, Field(pattern=PERMISSION_PATTERN, max_length=320)]
RoleName = Annotated[Role, Field(description="What the key may do as a user of its tenant: at most its creator's role")]


class KeyCreate(BaseModel):
    model_config = INPUT

    name: Name200
    permissions: list[Permission] = Field(
        min_length=1,
        max_length=MAX_PERMISSIONS,
        description="`<resource>:read`, `<resource>:write`, `<resource>:<action>` or `<METHOD> <path>` (`*`"
        " wildcards); each must name a resource, POST action or route of the API (422 `invalid_permission`)",
    )
    role: RoleName = Role.USER
    expires_at: UtcTime | None = Field(None, description="When the key stops working (none: never)")
    allowed_ips: list[Network] = Field(
        default_factory=list,
        max_length=MAX_ALLOWED_IPS,
        description="IPv4/IPv6 addresses or CIDR blocks (none: any address); a value `ipaddress` refuses is a 422"
        " `not_a_network`",
    )


class KeyUpdate(BaseModel):
    model_config = INPUT

    name: Name200 | None = None
    permissions: list[Permission] | None = Field(None, min_length=1, max_length=MAX_PERMISSIONS)
    role: RoleName | None = None
    expires_at: UtcTime | None = None
    allowed_ips: list[Network] | None = Field(None, max_length=MAX_ALLOWED_IPS)


class Key(BaseModel):
    """An API key as the API shows it: never its secret or its hash."""

    model_config = OUTPUT

    id: str
    name: str
    prefix: str = Field(description="The key's visible start: `kk.<tenant>.<id>`; the secret follows it")
    permissions: list[str]
    role: Role
    status: KeyStatus
    expires_at: Utc | None = None
    allowed_ips: list[str] = []
    created_by: str
    created_at: Utc
    last_used_at: Utc | None = None
    last_used_ip: str | None = None
    version: int = 1


class CreatedKey(Key):
    secret: str = Field(description="The whole key, shown this once: send it as `Authorization: Bearer <secret>`")
