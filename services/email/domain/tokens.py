"""Signed public tokens (pure): `<base64url(json claims)>.<base64url(HMAC-SHA256)>`.

One scheme for every public link of the email service (unsubscribe `/u/`, tracking `/t/`); the
MAC covers a purpose prefix as well as the claims, so a token of one kind never verifies as another.

Each tenant signs with its own key (`tenant_key`: an HMAC of the tenant id under the stack's
signing secret), so a token made for tenant A never verifies as B's, and a key derived for one
tenant tells nothing of another's. The claims name the tenant (claim "t"): the verifier reads that
claim unverified only to pick the key, then checks the MAC over the whole body with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ulid import ULID

KEY_LABEL = "kontakt/public-links/v1/"  # a new label gives every tenant a new key


class BadToken(Exception):
    """A token that is forged, altered, malformed or expired."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mac(key: bytes, purpose: str, body: str) -> str:
    return b64(hmac.new(key, f"{purpose}:{body}".encode(), hashlib.sha256).digest())


def tenant_key(key: bytes, tenant: str) -> bytes:
    """The tenant's signing key, derived from the stack's signing secret `key`."""
    return hmac.new(key, f"{KEY_LABEL}{tenant}".encode(), hashlib.sha256).digest()


def sign(purpose: str, claims: dict[str, Any], key: bytes) -> str:
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{mac(key, purpose, body)}"


def sign_for_tenant(purpose: str, claims: dict[str, Any], key: bytes) -> str:
    """A token signed with the key of the tenant its claims name ("t"); `key` is the stack's secret."""
    return sign(purpose, claims, tenant_key(key, str(claims["t"])))


def unverified_claims(token: str) -> dict[str, Any] | None:
    """What a token's body says, not checked (to pick a key or answer a bad pixel); None when unreadable."""
    body = token.partition(".")[0]
    if not body.isascii():
        return None
    try:
        claims = json.loads(unb64(body))
    except (ValueError, binascii.Error):  # bad base64, bad UTF-8, bad JSON
        return None
    return claims if isinstance(claims, dict) else None


def open_token(purpose: str, token: str, key: bytes) -> dict[str, Any]:
    """The claims of a token signed for `purpose` with `key`; `BadToken` for anything else."""
    body, dot, signature = token.partition(".")
    if not dot or not signature.isascii() or not hmac.compare_digest(signature, mac(key, purpose, body)):
        raise BadToken("bad signature")
    claims = unverified_claims(token)
    if claims is None:
        raise BadToken("malformed claims")
    return claims


def open_tenant_token(purpose: str, token: str, key: bytes, legacy: bool = False) -> dict[str, Any]:
    """The claims of a token signed for `purpose` with the key of the tenant it names.

    `legacy`: a token signed with the stack's secret itself (before keys were per tenant) is still
    taken; only unsubscribe links do that, until the last of them expires."""
    claims = unverified_claims(token)
    tenant = claims.get("t") if claims else None
    if not isinstance(tenant, str) or not tenant:
        raise BadToken("malformed claims")
    try:
        return open_token(purpose, token, tenant_key(key, tenant))
    except BadToken:
        if not legacy:
            raise
    return open_token(purpose, token, key)


# ----------------------------------------------------------------------------- opaque links (issue 15 part 3)
#
# A public link names its mail, not its recipient: `base64url(payload | MAC)`, where the payload is
# the link's kind, a click's link position, the tenant id and the message id, each id packed (a UUID
# or ULID as its 16 bytes), and the MAC is HMAC-SHA256 under the tenant's key, cut to 16 bytes.
# The server reads the message record for everything else (the address, the list type, the
# contact), so a forwarded mail or a proxy log shows two random ids and nothing about the person.
# An unsubscribe link is 68 characters, a click link 71 (ULID or UUID ids). Links of the claims format (a
# "." between body and MAC) are still honoured until LEGACY_LINKS_UNTIL.

# A year (an unsubscribe link's validity, DEFAULT_VALIDITY) after opaque links came: the last legacy link expires.
LEGACY_LINKS_UNTIL = datetime(2027, 12, 6, tzinfo=UTC)
OPAQUE_MAC_BYTES = 16
# The shape of every link token in a URL path: an opaque one (base64url), or a legacy one (its claims
# "." its MAC) until LEGACY_LINKS_UNTIL; a legacy click carried its URL, hence the length. A path
# that only holds these characters stays as long as the token (no percent-encoding) and under API
# Gateway's request-line limit.
LINK_TOKEN = r"^[A-Za-z0-9_-]{1,4000}(\.[A-Za-z0-9_-]{1,100})?$"
OPAQUE_LABEL = b"kontakt/opaque-link/v1:"
LinkKind = Literal["unsubscribe", "open", "click"]
KIND_BYTES: dict[str, bytes] = {"unsubscribe": b"u", "open": b"o", "click": b"c"}
PLAIN, AS_UUID, AS_ULID = 0, 1, 2


@dataclass(frozen=True)
class LinkRef:
    """What an opaque link names: its kind, the tenant, the message and (a click) the link's position."""

    kind: LinkKind
    tenant: str
    message_id: str
    link: int | None = None


def is_legacy(token: str) -> bool:
    """A token of the claims format (`<body>.<mac>`), not an opaque one."""
    return "." in token


def legacy_allowed(now: datetime | None = None) -> bool:
    return (now or datetime.now(UTC)) < LEGACY_LINKS_UNTIL


def _pack_id(value: str) -> bytes:
    try:
        if str(uuid.UUID(value)) == value:
            return bytes([AS_UUID]) + uuid.UUID(value).bytes
    except ValueError:
        pass
    try:
        if str(ULID.from_str(value)) == value:
            return bytes([AS_ULID]) + ULID.from_str(value).bytes
    except ValueError:
        pass
    data = value.encode()
    if not data or len(data) > 255:
        raise ValueError(f"an id of {len(data)} bytes cannot go in a link")
    return bytes([PLAIN, len(data)]) + data


def _unpack_id(data: bytes, at: int) -> tuple[str, int]:
    form = data[at]
    if form == AS_UUID:
        return str(uuid.UUID(bytes=data[at + 1 : at + 17])), at + 17
    if form == AS_ULID:
        return str(ULID.from_bytes(data[at + 1 : at + 17])), at + 17
    if form == PLAIN:
        size = data[at + 1]
        return data[at + 2 : at + 2 + size].decode(), at + 2 + size
    raise ValueError("unknown id form")


def _opaque_mac(key: bytes, tenant: str, payload: bytes) -> bytes:
    return hmac.new(tenant_key(key, tenant), OPAQUE_LABEL + payload, hashlib.sha256).digest()[:OPAQUE_MAC_BYTES]


def seal(ref: LinkRef, keys: Sequence[bytes]) -> str:
    """The opaque token of a link, signed with the first (current) of `keys` for the tenant."""
    payload = KIND_BYTES[ref.kind]
    if ref.kind == "click":
        payload += int(ref.link or 0).to_bytes(2, "big")
    payload += _pack_id(ref.tenant) + _pack_id(ref.message_id)
    return b64(payload + _opaque_mac(keys[0], ref.tenant, payload))


def _parse(payload: bytes) -> LinkRef:
    kinds = {value: name for name, value in KIND_BYTES.items()}
    kind = kinds.get(payload[:1])
    if kind is None:
        raise ValueError("unknown kind")
    at, link = 1, None
    if kind == "click":
        link, at = int.from_bytes(payload[1:3], "big"), 3
    tenant, at = _unpack_id(payload, at)
    message_id, at = _unpack_id(payload, at)
    if at != len(payload) or not tenant or not message_id:
        raise ValueError("trailing bytes")
    return LinkRef(kind, tenant, message_id, link)  # type: ignore[arg-type]


def _payload(token: str) -> tuple[bytes, bytes, LinkRef]:
    if not token.isascii() or is_legacy(token) or len(token) > 400:
        raise BadToken("not an opaque link")
    try:
        raw = unb64(token)
        payload, signature = raw[:-OPAQUE_MAC_BYTES], raw[-OPAQUE_MAC_BYTES:]
        return payload, signature, _parse(payload)
    except (ValueError, IndexError, binascii.Error) as error:
        raise BadToken("malformed link") from error


def unseal(token: str, keys: Sequence[bytes]) -> LinkRef:
    """What an opaque link names, when one of `keys` (the current one, then the previous) signed it
    for its tenant; `BadToken` for anything forged, altered or malformed."""
    payload, signature, ref = _payload(token)
    if any(hmac.compare_digest(signature, _opaque_mac(key, ref.tenant, payload)) for key in keys if key):
        return ref
    raise BadToken("bad signature")


def peek_kind(token: str) -> str | None:
    """What an opaque link says it is, not checked (to answer a bad pixel as a pixel)."""
    try:
        return _payload(token)[2].kind
    except BadToken:
        return None
