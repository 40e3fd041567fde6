"""Signed one-click unsubscribe links (RFC 8058) and the headers that carry them.

A token is `<base64url(json claims)>.<base64url(HMAC-SHA256)>` signed with the tenant's key (derived
from the stack's signing secret, services/email/domain/tokens.py); it names the tenant, the address,
the list type, the contact and an expiry, so the public landing page needs no login and no lookup
to know whose opt-out it is. A campaign mail's token also names its message (claim "m"), so its
unsubscribe is stamped on that recipient; older tokens without it stay valid. The signing scheme is
shared with tracking links (services/email/domain/tokens.py).

Links signed before keys were per tenant (with the stack's secret itself) still verify: a recipient
must be able to opt out with any mail they hold. They expire within DEFAULT_VALIDITY (one year), after
which `legacy=True` in `verify_token` can go.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.email.domain.list_types import TokenClaims, normalised
from services.email.domain.tokens import BadToken, open_tenant_token, sign_for_tenant
from shared.settings import load

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_VALIDITY = timedelta(days=365)
ONE_CLICK = "List-Unsubscribe=One-Click"


class PublicLinkSettings(BaseSettings):
    """Where public links point: `PUBLIC_BASE_URL`, and `UNSUBSCRIBE_MAILBOX` (template.yaml's
    `UnsubscribeMailbox`; empty: no mailbox reads unsubscribe mails, so none is offered)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    public_base_url: str = DEFAULT_BASE_URL
    unsubscribe_mailbox: str = ""


PURPOSE = "unsubscribe"

__all__ = ["BadToken", "UnsubscribeClaims", "list_unsubscribe_headers", "unsubscribe_token", "verify_token"]


class UnsubscribeClaims(TokenClaims):
    """The claims of an unsubscribe link; a campaign mail's link also names its message."""

    message_id: str | None = Field(None, alias="m")


def _key(key: bytes | None) -> bytes:
    if key is not None:
        return key
    from shared.secrets import signing_key  # Secrets Manager; tests pass their own key

    return signing_key()


def unsubscribe_token(
    tenant: str,
    address: str,
    list_type_id: str,
    contact_id: str | None = None,
    expires: datetime | None = None,
    key: bytes | None = None,
    message_id: str | None = None,
) -> str:
    until = expires or datetime.now(UTC) + DEFAULT_VALIDITY
    claims = UnsubscribeClaims(
        tenant=tenant,
        address=normalised(address),
        list_type_id=list_type_id,
        contact_id=contact_id,
        expires=int(until.timestamp()),
        message_id=message_id,
    )
    return sign_for_tenant(PURPOSE, claims.model_dump(by_alias=True, exclude_none=True), _key(key))


def verify_token(token: str, key: bytes | None = None, now: datetime | None = None) -> UnsubscribeClaims:
    try:
        claims = UnsubscribeClaims.model_validate(open_tenant_token(PURPOSE, token, _key(key), legacy=True))
    except ValidationError as error:
        raise BadToken("malformed claims") from error
    if claims.expires < (now or datetime.now(UTC)).timestamp():
        raise BadToken("expired")
    return claims


def base_url() -> str:
    return load(PublicLinkSettings).public_base_url.rstrip("/")


def unsubscribe_url(
    tenant: str,
    address: str,
    list_type_id: str,
    contact_id: str | None = None,
    expires: datetime | None = None,
    key: bytes | None = None,
    public_base_url: str | None = None,
    message_id: str | None = None,
) -> str:
    token = unsubscribe_token(tenant, address, list_type_id, contact_id, expires, key, message_id)
    return _link(token, public_base_url)


def _link(token: str, public_base_url: str | None) -> str:
    return f"{(public_base_url or base_url()).rstrip('/')}/u/{token}"


def list_unsubscribe_headers(
    tenant: str,
    address: str,
    list_type_id: str,
    contact_id: str | None = None,
    expires: datetime | None = None,
    key: bytes | None = None,
    public_base_url: str | None = None,
    message_id: str | None = None,
) -> dict[str, str]:
    """`List-Unsubscribe` (HTTPS link, then mailto when a mailbox is configured) and
    `List-Unsubscribe-Post` for one recipient; pass a campaign mail's `message_id` so its unsubscribe
    counts for that recipient. RFC 8058's one-click needs only the HTTPS link."""
    token = unsubscribe_token(tenant, address, list_type_id, contact_id, expires, key, message_id)
    links = [_link(token, public_base_url)]
    mailbox = load(PublicLinkSettings).unsubscribe_mailbox.strip()
    if mailbox:
        links.append(f"mailto:{mailbox}?subject={quote('unsubscribe ' + token)}")
    return {"List-Unsubscribe": ", ".join(f"<{link}>" for link in links), "List-Unsubscribe-Post": ONE_CLICK}
