"""Signed public tokens (pure): `<base64url(json claims)>.<base64url(HMAC-SHA256)>`.

One scheme for every public link of the email service (unsubscribe `/u/`, tracking `/t/`); the
MAC covers a purpose prefix as well as the claims, so a token of one kind never verifies as another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class BadToken(Exception):
    """A token that is forged, altered, malformed or expired."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mac(key: bytes, purpose: str, body: str) -> str:
    return b64(hmac.new(key, f"{purpose}:{body}".encode(), hashlib.sha256).digest())


def sign(purpose: str, claims: dict[str, Any], key: bytes) -> str:
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{mac(key, purpose, body)}"


def open_token(purpose: str, token: str, key: bytes) -> dict[str, Any]:
    """The claims of a token signed for `purpose`; `BadToken` for anything else."""
    body, dot, signature = token.partition(".")
    if not dot or not hmac.compare_digest(signature, mac(key, purpose, body)):
        raise BadToken("bad signature")
    try:
        claims = json.loads(unb64(body))
    except ValueError as error:
        raise BadToken("malformed claims") from error
    if not isinstance(claims, dict):
        raise BadToken("malformed claims")
    return claims
