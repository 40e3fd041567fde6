"""A token issuer for tests that run handlers in-process: real RS256 tokens, which the kernel verifies
exactly as it verifies the user pool's (shared/auth.py), with this issuer's key set.

`trust(monkeypatch)` points the kernel at this issuer (the environment the template gives an API
function names the user pool; a test overrides it as `kontakt dev` overrides it with its dev issuer).
The key set is handed to PyJWT's client without HTTP (the unit tests run without sockets); the fetch
over HTTP is what tests/e2e/test_bearer_tokens.py covers, against the local gateway's /dev/jwks.json.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared import auth

ISSUER = "https://issuer.test/kontakt-tests"
AUDIENCE = "kontakt-tests"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
KEY_ID = "kontakt-tests-1"
TTL = 12 * 3600


@functools.cache
def _private_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)  # once per test process


def jwks() -> dict[str, Any]:
    public: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(_private_key().public_key(), as_dict=True)
    return {"keys": [{**public, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}


class _KeySet(jwt.PyJWKClient):
    """PyJWT's client with this issuer's key set as its endpoint's answer."""

    def fetch_data(self) -> Any:
        data = jwks()
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(data)
        self._last_successful_fetch = time.monotonic()  # as PyJWT's own fetch: starts its refetch cooldown
        return data


def trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel accepts this issuer's tokens (and no other) for the rest of the test."""
    monkeypatch.setenv(auth.ISSUER_VARIABLE, ISSUER)
    monkeypatch.setenv(auth.AUDIENCE_VARIABLE, AUDIENCE)
    monkeypatch.setenv(auth.KEYS_VARIABLE, JWKS_URL)
    monkeypatch.setitem(auth._clients, JWKS_URL, _KeySet(JWKS_URL))


def token(claims: dict[str, Any]) -> str:
    """An ID token of this issuer with these claims (the trigger's: tenant_id, user_id, role, groups)."""
    return _token(json.dumps(claims, sort_keys=True))


@functools.lru_cache(maxsize=1024)
def _token(claims_json: str) -> str:  # a test builds many events of the same caller: sign once
    now = int(time.time())
    claims = json.loads(claims_json)
    document = {"sub": claims.get("user_id", "login"), "token_use": "id", "iat": now, "exp": now + TTL, **claims}
    document = {"iss": ISSUER, "aud": AUDIENCE, **document}
    return jwt.encode(document, _private_key(), algorithm="RS256", headers={"kid": KEY_ID})


def authorization(claims: dict[str, Any]) -> str:
    """The `Authorization` header value of a request by the caller these claims name."""
    return f"Bearer {token(claims)}"
