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
from typing import Any

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
