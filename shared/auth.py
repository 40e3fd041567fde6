"""Who is calling: the auth context read from the claims of a verified JWT.

In AWS the HTTP API's JWT authorizer (Cognito) has verified the token; locally the gateway of
`kontakt dev` has. Either way the handler reads `requestContext.authorizer.jwt.claims`.
The tenant comes from these claims only, never from the URL or the body.
"""

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    USER = "user"


class Unauthenticated(Exception):
    """The request carries no usable identity (the authorizer should have stopped it)."""


class AuthContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    user_id: str = Field(min_length=1, max_length=128)
    role: Role = Role.USER
    groups: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def owner_ids(self) -> set[str]:
        """The ids that count as "mine": the user and the user's groups."""
        return {self.user_id, *self.groups}


def parse_list_claim(value: Any) -> tuple[str, ...]:
    """A list claim as AWS's HTTP API passes it: a JSON list, "[a b]" or "a,b"."""
    if value is None or value == "":
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if str(v))
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            text = text[1:-1]
        else:
            return parse_list_claim(parsed if isinstance(parsed, list) else [parsed])
    return tuple(part for part in text.replace(",", " ").split() if part)


def from_claims(claims: dict[str, Any]) -> AuthContext:
    """Map token claims to an AuthContext.

    `tenant_id`, `user_id` (the directory user, not the login's `sub`), `role` and `groups` are
    put into the ID token by the pre-token-generation trigger from the directory's records (and
    by `kontakt dev`'s issuer the same way). No Cognito user attribute (`custom:*`) and no Cognito
    group is read: a user can write neither into these claims.
    """
    tenant = claims.get("tenant_id")
    user = claims.get("user_id")
    if not tenant or not user:
        raise Unauthenticated("token has no tenant or user")
    role = claims.get("role") or Role.USER
    groups = parse_list_claim(claims.get("groups"))
    try:
        return AuthContext(tenant_id=tenant, user_id=user, role=Role(role), groups=groups)
    except ValueError as exc:
        raise Unauthenticated(f"token claims are not valid: {exc}") from exc


def from_http_event(event: dict[str, Any]) -> AuthContext:
    """The auth context of an API Gateway HTTP API (payload 2.0) event."""
    claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims")
    if not claims:
        raise Unauthenticated("request has no verified claims")
    return from_claims(claims)
