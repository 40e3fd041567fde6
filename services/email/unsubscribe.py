"""Signed one-click unsubscribe links (RFC 8058) and the headers that carry them.

A token is `<base64url(json claims)>.<base64url(HMAC-SHA256)>` signed with the shared signing key;
it names the tenant, the address, the list type, the contact and an expiry, so the public landing
page needs no login and no lookup to know whose opt-out it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.email.domain.list_types import TokenClaims, normalised
from shared.settings import load

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_VALIDITY = timedelta(days=365)
ONE_CLICK = "List-Unsubscribe=One-Click"


class PublicLinkSettings(BaseSettings):
    """Where public links point; `PUBLIC_BASE_URL` and `UNSUBSCRIBE_MAILBOX` override the defaults."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    public_base_url: str = DEFAULT_BASE_URL
    unsubscribe_mailbox: str = "unsubscribe@kontakt.invalid"


class BadToken(Exception):
    """A token that is forged, altered, malformed or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, b"unsubscribe:" + body.encode(), hashlib.sha256).digest())


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
) -> str:
    until = expires or datetime.now(UTC) + DEFAULT_VALIDITY
    claims = TokenClaims(
        tenant=tenant,
        address=normalised(address),
        list_type_id=list_type_id,
        contact_id=contact_id,
        expires=int(until.timestamp()),
    )
    body = _b64(json.dumps(claims.model_dump(by_alias=True, exclude_none=True), separators=(",", ":")).encode())
    return f"{body}.{_mac(_key(key), body)}"


def verify_token(token: str, key: bytes | None = None, now: datetime | None = None) -> TokenClaims:
    body, dot, mac = token.partition(".")
    if not dot or not hmac.compare_digest(mac, _mac(_key(key), body)):
        raise BadToken("bad signature")
    try:
        claims = TokenClaims.model_validate(json.loads(_unb64(body)))
    except (ValueError, ValidationError) as error:
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
) -> str:
    token = unsubscribe_token(tenant, address, list_type_id, contact_id, expires, key)
    return f"{(public_base_url or base_url()).rstrip('/')}/u/{token}"


def list_unsubscribe_headers(
    tenant: str,
    address: str,
    list_type_id: str,
    contact_id: str | None = None,
    expires: datetime | None = None,
    key: bytes | None = None,
    public_base_url: str | None = None,
) -> dict[str, str]:
    """`List-Unsubscribe` (HTTPS link, then mailto) and `List-Unsubscribe-Post` for one recipient."""
    token = unsubscribe_token(tenant, address, list_type_id, contact_id, expires, key)
    url = f"{(public_base_url or base_url()).rstrip('/')}/u/{token}"
    mailto = f"mailto:{load(PublicLinkSettings).unsubscribe_mailbox}?subject={quote('unsubscribe ' + token)}"
    return {"List-Unsubscribe": f"<{url}>, <{mailto}>", "List-Unsubscribe-Post": ONE_CLICK}
