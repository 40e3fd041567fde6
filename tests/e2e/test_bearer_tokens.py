"""A route that needs a login refuses a bad bearer token with a 401 problem+json (issue 16, section 3):
the HTTP API's Lambda authorizer verifies the token and lets the request through with its refusal,
which the function answers (shared/auth.py); a request with no Authorization header at all is API
Gateway's own 401 `{"message": "Unauthorized"}` (the authorizer's identity source is missing). Public
routes stay public.

Every refused token below is a variation of a valid one: signed by the dev issuer with one thing
wrong, or signed by a key the issuer never published.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.auth import AUDIENCE, ISSUER
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import new_tenant

PROBLEM_JSON = "application/problem+json"
LOGIN_ROUTES = ("/contacts", "/activities", "/email/templates")  # one per service


@pytest.fixture(scope="module")
def good(stack: LocalRuntime) -> dict[str, Any]:
    """The claims of a valid token of a provisioned user (a token for the tenant's admin)."""
    tenant = new_tenant()
    token = stack.token(tenant, "admin-1", "admin")
    return {"tenant": tenant, "token": token, "claims": jwt.decode(token, options={"verify_signature": False})}


def _sign(stack: LocalRuntime, claims: dict[str, Any], **changes: Any) -> str:
    document = {k: v for k, v in {**claims, **changes}.items() if v is not None}
    return jwt.encode(document, stack.issuer.private_key, algorithm="RS256", headers={"kid": stack.issuer.key_id})


def _unsigned(claims: dict[str, Any], alg: str) -> str:
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}."


def _refused(api: Api, path: str, authorization: str | None, invalid_token: bool = True) -> dict[str, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.get(path, headers=headers)
    assert response.status_code == 401, (path, response.status_code, response.text)
    assert response.headers["Content-Type"].split(";")[0] == PROBLEM_JSON
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is invalid_token, challenge
    assert response.headers.get("X-Request-Id") and response.headers.get("Apigw-Requestid")
    body = response.json()
    assert body["status"] == 401 and body["code"] == "unauthorized" and body["instance"] == path
    assert body["correlation_id"] == response.headers["X-Request-Id"]
    return dict(body)


@pytest.mark.parametrize("path", LOGIN_ROUTES)
def test_no_token_is_a_401_problem_naming_the_scheme(api: Api, path: str) -> None:
    body = _refused(api, path, "Basic YWRtaW46YWRtaW4=", invalid_token=False)  # another scheme is no bearer token
    assert body["detail"] == "The request has no bearer token."
    _refused(api, path, "Bearer ", invalid_token=False)
    # No Authorization header at all: the authorizer's identity source is missing, so API Gateway
    # refuses the request itself, with its own JSON (docs/decisions.md, "API keys and the Lambda authorizer").
    missing = api.get(path)
    assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}
    assert missing.headers["Content-Type"] == "application/json" and missing.headers.get("Apigw-Requestid")


def test_a_malformed_token_is_refused(api: Api) -> None:
    for token in ("not-a-token", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30", "ä"):
        _refused(api, "/contacts", f"Bearer {token}")


def test_a_token_signed_by_another_key_is_refused(api: Api, stack: LocalRuntime, good: dict[str, Any]) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    same_kid = jwt.encode(good["claims"], stranger, algorithm="RS256", headers={"kid": stack.issuer.key_id})
    _refused(api, "/contacts", f"Bearer {same_kid}")
    other_kid = jwt.encode(good["claims"], stranger, algorithm="RS256", headers={"kid": "someone-else"})
    _refused(api, "/contacts", f"Bearer {other_kid}")
    # The valid token with its last signature bytes changed.
    head, payload, signature = good["token"].split(".")
    tampered = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    _refused(api, "/contacts", f"Bearer {head}.{payload}.{tampered}")
    # The valid signature on other claims: another tenant.
    forged = base64.urlsafe_b64encode(json.dumps({**good["claims"], "tenant_id": "victim"}).encode()).rstrip(b"=")
    _refused(api, "/contacts", f"Bearer {head}.{forged.decode()}.{signature}")


def test_an_expired_token_is_refused(api: Api, stack: LocalRuntime, good: dict[str, Any]) -> None:
    now = int(time.time())
    expired = _sign(stack, good["claims"], iat=now - 7200, exp=now - 3600)
    body = _refused(api, "/contacts", f"Bearer {expired}")
    assert body["detail"] == "The token has expired."
    not_yet = _sign(stack, good["claims"], nbf=now + 3600)
    _refused(api, "/contacts", f"Bearer {not_yet}")
    no_expiry = _sign(stack, good["claims"], exp=None)
    _refused(api, "/contacts", f"Bearer {no_expiry}")


def test_a_token_for_another_audience_or_issuer_is_refused(api: Api, stack: LocalRuntime, good: dict[str, Any]) -> None:
    claims = good["claims"]
    assert claims["aud"] == AUDIENCE and claims["iss"] == ISSUER
    for changes in (
        {"aud": "another-app-client"},
        {"aud": None},
        {"iss": "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_other"},
        {"iss": None},
        {"token_use": "refresh"},
        {"token_use": None},
        # An access token names the app client as `client_id`, not `aud`.
        {"token_use": "access", "aud": None, "client_id": "another-app-client"},
    ):
        _refused(api, "/contacts", f"Bearer {_sign(stack, claims, **changes)}")


def test_tokens_of_alg_none_or_hs256_are_refused(api: Api, stack: LocalRuntime, good: dict[str, Any]) -> None:
    claims = good["claims"]
    _refused(api, "/contacts", f"Bearer {_unsigned(claims, 'none')}")
    _refused(api, "/contacts", f"Bearer {_unsigned(claims, 'None')}")
    # HS256 keyed with what an attacker knows: the issuer's public key (the classic RS/HS confusion).
    public_pem = stack.issuer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": stack.issuer.key_id}
    part = lambda value: base64.urlsafe_b64encode(value).rstrip(b"=").decode()  # noqa: E731
    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(claims).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    _refused(api, "/contacts", f"Bearer {signing_input}.{part(mac)}")
    _refused(api, "/contacts", f"Bearer {jwt.encode(claims, 'a-secret-of-32-bytes-or-more-....', algorithm='HS256')}")


def test_a_refused_token_runs_no_handler(api: Api, stack: LocalRuntime, good: dict[str, Any]) -> None:
    """A write with a bad token writes nothing, and is refused before its body is looked at."""
    expired = _sign(stack, good["claims"], exp=int(time.time()) - 3600)
    response = api.post(
        "/contacts",
        json={"first_name": "Never", "last_name": "Written"},
        headers={"Authorization": f"Bearer {expired}"},
    )
    assert response.status_code == 401 and response.headers["Content-Type"].startswith(PROBLEM_JSON)
    not_json = api.post("/contacts", data=b"\xff", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 401  # not 415: the login is checked first, as the authorizer did
    listed = api.get("/contacts", headers={"Authorization": f"Bearer {good['token']}"})
    assert listed.status_code == 200 and listed.json()["items"] == []


@pytest.mark.parametrize("path", LOGIN_ROUTES)
def test_a_valid_token_still_works(api: Api, good: dict[str, Any], path: str) -> None:
    response = api.get(path, headers={"Authorization": f"Bearer {good['token']}"})
    assert response.status_code == 200, response.text
    lower = api.get(path, headers={"Authorization": f"bearer {good['token']}"})  # the scheme is case-insensitive
    assert lower.status_code == 200, lower.text


def test_public_routes_need_no_token(api: Api) -> None:
    assert api.get("/email/openapi.json").status_code == 200
    # A token that is not one is ignored where no login is asked (each function's public routes).
    for path in ("/directory/docs", "/activities/openapi.json", "/email/docs", "/docs"):
        assert api.get(path, headers={"Authorization": "Bearer garbage"}).status_code == 200, path
    # Public links with a token that is not one: the service's own 404 problem, no login asked.
    for path in ("/t/not-a-token", "/calendar/not-a-feed", "/u/not-a-token"):
        response = api.get(path)
        assert response.status_code != 401, (path, response.status_code)
        assert "WWW-Authenticate" not in response.headers
    unknown = api.get("/no-such-path")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith(PROBLEM_JSON)
