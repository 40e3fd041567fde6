"""One-click unsubscribe links (RFC 8058) and the headers that carry them.

A link is opaque (`services/email/domain/tokens.py`, `seal`): it names the tenant and the mail, signed
with the tenant's key, and nothing else; `resolve` reads the message record for the address, the
list type and the contact, so a forwarded mail or a proxy log tells nobody who received it. A link
is honoured for DEFAULT_VALIDITY after its mail was made, and while its key is the current or the
previous one.

Links of the claims format (`<base64url(json claims)>.<MAC>`, the address inside; mail sent before
opaque links) still verify until LEGACY_LINKS_UNTIL: a recipient must be able to opt out with any
mail they hold. Then `legacy_unsubscribe_token` and the legacy branch of `resolve` can go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from pydantic import Field, ValidationError

from services.email.domain.list_types import TokenClaims, normalised
from services.email.domain.tokens import (
    BadToken,
    LinkRef,
    is_legacy,
    legacy_allowed,
    open_tenant_token,
    seal,
    sign_for_tenant,
    unseal,
)
from shared.settings import BaseSettings, load

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_VALIDITY = timedelta(days=365)
ONE_CLICK = "List-Unsubscribe=One-Click"


class PublicLinkSettings(BaseSettings):
    """Where public links point: `PUBLIC_BASE_URL`, and `UNSUBSCRIBE_MAILBOX` (template.yaml's
    `UnsubscribeMailbox`; empty: no mailbox reads unsubscribe mails, so none is offered)."""

    public_base_url: str = DEFAULT_BASE_URL
    unsubscribe_mailbox: str = ""


PURPOSE = "unsubscribe"

__all__ = [
    "BadToken",
    "UnsubscribeClaims",
    "legacy_unsubscribe_token",
    "list_unsubscribe_headers",
    "resolve",
    "unsubscribe_token",
    "verify_token",
]


class UnsubscribeClaims(TokenClaims):
    """The claims of an unsubscribe link; a campaign mail's link also names its message."""

    message_id: str | None = Field(None, alias="m")


def _key(key: bytes | None) -> bytes:
    if key is not None:
        return key
    from shared.secrets import signing_key  # Secrets Manager; tests pass their own key

    return signing_key()


def legacy_unsubscribe_token(
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
    """The claims of a legacy (claims-format) link; `BadToken` when forged, altered, malformed or expired."""
    try:
        claims = UnsubscribeClaims.model_validate(open_tenant_token(PURPOSE, token, _key(key), legacy=True))
    except ValidationError as error:
        raise BadToken("malformed claims") from error
    if claims.expires < (now or datetime.now(UTC)).timestamp():
        raise BadToken("expired")
    return claims


def _keys(keys: Sequence[bytes] | None) -> Sequence[bytes]:
    if keys is not None:
        return keys
    from shared.secrets import link_keys  # Secrets Manager; tests pass their own keys

    return link_keys()


def unsubscribe_token(tenant: str, message_id: str, keys: Sequence[bytes] | None = None) -> str:
    """The opaque unsubscribe token of one mail (its message record says whose and which list type)."""
    return seal(LinkRef("unsubscribe", tenant, message_id), _keys(keys))


def resolve(
    token: str,
    keys: Sequence[bytes] | None = None,
    now: datetime | None = None,
    legacy_key: bytes | None = None,
) -> UnsubscribeClaims:
    """Whose opt-out a link is: an opaque link's message record, or a legacy link's claims until
    LEGACY_LINKS_UNTIL. `BadToken` for a forged, altered, expired or unknown link."""
    if is_legacy(token):
        if not legacy_allowed(now):
            raise BadToken("legacy links are no longer honoured")
        return verify_token(token, legacy_key, now)
    if keys is not None:
        ref = unseal(token, keys)
    else:  # the link keys (the current and the previous), read again once after a rotation
        from shared.secrets import verify_with_link_keys

        ref = verify_with_link_keys(lambda current: unseal(token, current), BadToken)
    if ref.kind != "unsubscribe":
        raise BadToken("not an unsubscribe link")
    from services.email.service import service_caller  # I/O: the message record
    from services.email.transactional import KIND

    caller = service_caller(ref.tenant)
    record = caller.store.get(ref.tenant, KIND, ref.message_id)
    data = record.data if record is not None else {}
    if not data.get("to") or not data.get("list_type_id") or not data.get("created_at"):
        raise BadToken("no such mail, or not a list mail")
    until = datetime.fromisoformat(str(data["created_at"])) + DEFAULT_VALIDITY
    if until.timestamp() < (now or datetime.now(UTC)).timestamp():
        raise BadToken("expired")
    return UnsubscribeClaims(
        tenant=ref.tenant,
        address=normalised(str(data["to"])),
        list_type_id=str(data["list_type_id"]),
        contact_id=data.get("contact_id"),
        expires=int(until.timestamp()),
        message_id=ref.message_id if data.get("campaign_id") else None,  # a campaign's recipient is stamped
    )


def base_url() -> str:
    return load(PublicLinkSettings).public_base_url.rstrip("/")


def unsubscribe_url(
    tenant: str, message_id: str, keys: Sequence[bytes] | None = None, public_base_url: str | None = None
) -> str:
    return _link(unsubscribe_token(tenant, message_id, keys), public_base_url)


def _link(token: str, public_base_url: str | None) -> str:
    return f"{(public_base_url or base_url()).rstrip('/')}/u/{token}"


def list_unsubscribe_headers(
    tenant: str, message_id: str, keys: Sequence[bytes] | None = None, public_base_url: str | None = None
) -> dict[str, str]:
    """`List-Unsubscribe` (HTTPS link, then mailto when a mailbox is configured) and
    `List-Unsubscribe-Post` for one mail, by its message id. RFC 8058's one-click needs only the
    HTTPS link."""
    token = unsubscribe_token(tenant, message_id, keys)
    links = [_link(token, public_base_url)]
    mailto = mailbox_link(token)
    if mailto:
        links.append(mailto)
    return {"List-Unsubscribe": ", ".join(f"<{link}>" for link in links), "List-Unsubscribe-Post": ONE_CLICK}


def mailbox_link(token: str) -> str | None:
    mailbox = load(PublicLinkSettings).unsubscribe_mailbox.strip()
    return f"mailto:{mailbox}?subject={quote('unsubscribe ' + token)}" if mailbox else None
