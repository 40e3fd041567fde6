import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared import auth
from shared.api import www_authenticate
from shared.auth import (
    AuthContext,
    KeysUnavailable,
    Role,
    Unauthenticated,
    bearer_token,
    from_claims,
    from_http_event,
    parse_list_claim,
    verified_claims,
)
from tests import tokens

pytestmark = pytest.mark.disable_socket


@pytest.mark.parametrize(
    "value",
    ["[a b]", "a,b", "a, b", ["a", "b"], ("a", "b"), '["a","b"]', '["a", "b"]', " [a  b] "],
)
def test_list_claim_formats(value: Any) -> None:
    assert parse_list_claim(value) == ("a", "b")


@pytest.mark.parametrize("value", [None, "", "[]", [], "[ ]"])
def test_empty_list_claim(value: Any) -> None:
    assert parse_list_claim(value) == ()


def test_single_item_list_claim() -> None:
    assert parse_list_claim("[admins]") == ("admins",)
    assert parse_list_claim("admins") == ("admins",)


def test_our_claims() -> None:
    claims = {"sub": "4f1c-login", "user_id": "u1", "tenant_id": "acme", "role": "manager", "groups": "[g1 g2]"}
    context = from_claims(claims)
    assert context == AuthContext(tenant_id="acme", user_id="u1", role=Role.MANAGER, groups=("g1", "g2"))
    assert context.owner_ids == {"u1", "g1", "g2"}
    assert not context.is_admin


def test_the_trigger_claims_of_a_cognito_id_token() -> None:
    """The V1_0 trigger's string claims: groups separated by spaces; the user is not the `sub`."""
    claims = {"sub": "9a7b-uuid", "user_id": "01JUSER", "tenant_id": "acme", "role": "admin", "groups": "g1 g2"}
    context = from_claims(claims)
    assert (context.tenant_id, context.user_id, context.role) == ("acme", "01JUSER", Role.ADMIN)
    assert context.groups == ("g1", "g2")


def test_cognito_attributes_and_groups_are_not_read() -> None:
    """A user-writable attribute or a Cognito group never gives a tenant, a role or a group."""
    claims = {"sub": "u1", "custom:tenant_id": "acme", "custom:role": "admin", "cognito:groups": "[sales]"}
    with pytest.raises(Unauthenticated):
        from_claims(claims)
    context = from_claims({**claims, "tenant_id": "mine", "user_id": "u1"})
    assert (context.tenant_id, context.role, context.groups) == ("mine", Role.USER, ())


def test_the_login_subject_is_not_the_user() -> None:
    with pytest.raises(Unauthenticated):
        from_claims({"sub": "u1", "tenant_id": "acme", "role": "admin"})


def test_role_defaults_to_user() -> None:
    assert from_claims({"user_id": "u1", "tenant_id": "acme"}).role is Role.USER


@pytest.mark.parametrize(
    "claims",
    [
        {"user_id": "u1"},
        {"user_id": "u1", "tenant_id": ""},
        {"tenant_id": "acme"},
        {"user_id": "u1", "tenant_id": "acme", "role": "owner"},
        {"user_id": "u1", "tenant_id": "acme/other"},
        {"user_id": "u1", "tenant_id": "x" * 65},
    ],
)
def test_unusable_claims_are_unauthenticated(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated):
        from_claims(claims)


def test_from_http_event(make_http_event: Any) -> None:
    context = from_http_event(make_http_event("GET", "/x", claims={"user_id": "u1", "tenant_id": "acme"}))
    assert context.tenant_id == "acme"


@pytest.mark.parametrize("claims", [None, {}])
def test_event_without_claims_is_unauthenticated(make_http_event: Any, claims: Any) -> None:
    with pytest.raises(Unauthenticated):
        from_http_event(make_http_event("GET", "/x", claims=claims))


def test_claims_an_authorizer_would_pass_are_not_read(make_http_event: Any) -> None:
    """No authorizer is configured, so nothing in `requestContext` can have come from one."""
    event = make_http_event("GET", "/x", claims=None)
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"user_id": "u1", "tenant_id": "acme"}}}
    with pytest.raises(Unauthenticated):
        from_http_event(event)


# ----------------------------------------------------------------------------- the token verifier

CALLER = {"user_id": "u1", "tenant_id": "acme", "role": "user", "groups": ["g1"]}


def _signed(key: Any = None, kid: str | None = tokens.KEY_ID, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    document = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": "login-1", "token_use": "id"}
    document = {**document, "iat": now, "exp": now + 600, **CALLER, **claims}
    document = {k: v for k, v in document.items() if v is not None}
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(document, key or tokens._private_key(), algorithm=alg, headers=headers)


def _refusal(token: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as refused:
        verified_claims(token)
    assert refused.value.token_given
    return refused.value


def test_a_valid_id_token_is_verified_and_read() -> None:
    claims = verified_claims(_signed())
    assert claims["tenant_id"] == "acme"
    event = {"headers": {"authorization": f"Bearer {_signed()}"}}
    assert from_http_event(event) == AuthContext(tenant_id="acme", user_id="u1", role=Role.USER, groups=("g1",))


def test_an_access_token_names_the_app_client_as_client_id() -> None:
    assert verified_claims(_signed(token_use="access", aud=None, client_id=tokens.AUDIENCE))["user_id"] == "u1"
    _refusal(_signed(token_use="access", aud=None, client_id="another-client"))
    _refusal(_signed(token_use="access", aud=None))
    # An ID token's audience is `aud`: a matching client_id does not stand in for it.
    _refusal(_signed(aud="another-client", client_id=tokens.AUDIENCE))


IN_AN_HOUR = "in an hour"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "another-client"},
        {"aud": None},
        {"iss": "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_other"},
        {"iss": None},
        {"token_use": "refresh"},
        {"token_use": None},
        {"exp": None},
        {"iat": None},
        {"sub": None},
        {"nbf": IN_AN_HOUR},
        {"iat": IN_AN_HOUR},
    ],
    ids=repr,  # stable: xdist's workers must collect the same ids
)
def test_a_token_with_a_wrong_or_missing_claim_is_refused(changes: dict[str, Any]) -> None:
    in_an_hour = int(time.time()) + 3600
    _refusal(_signed(**{name: in_an_hour if value == IN_AN_HOUR else value for name, value in changes.items()}))


def test_expiry_is_checked_with_a_small_leeway() -> None:
    now = int(time.time())
    assert verified_claims(_signed(exp=now - auth.LEEWAY_SECONDS + 5))  # within the clock skew allowed
    refused = _refusal(_signed(exp=now - auth.LEEWAY_SECONDS - 5))
    assert refused.detail == "The token has expired."
    assert verified_claims(_signed(nbf=now + auth.LEEWAY_SECONDS - 5))
    _refusal(_signed(nbf=now + auth.LEEWAY_SECONDS + 60))


def test_only_rs256_signed_by_a_published_key_is_accepted() -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _refusal(_signed(key=stranger))  # the published kid, another key
    _refusal(_signed(key=stranger, kid="unknown"))
    _refusal(_signed(kid=None))  # no kid: no key
    _refusal(_signed(alg="RS512"))  # the right key, another algorithm
    _refusal(_signed(key="a-shared-secret-of-at-least-32-bytes", alg="HS256"))
    part = lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()  # noqa: E731
    claims = jwt.decode(_signed(), options={"verify_signature": False})
    for alg in ("none", "None", "NONE"):
        _refusal(f"{part({'alg': alg, 'kid': tokens.KEY_ID})}.{part(claims)}.")


@pytest.mark.parametrize("token", ["", "x", "a.b.c", "a.b", "e30.e30.", "\u00e4.\u00e4.\u00e4"])
def test_malformed_tokens_are_refused(token: str) -> None:
    _refusal(token)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": ""},
        {"authorization": "Bearer"},
        {"authorization": "Bearer  "},
        {"authorization": "Basic a"},
    ],
)
def test_no_bearer_token_is_refused_as_such(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated) as refused:
        bearer_token({"headers": headers})
    assert not refused.value.token_given
    assert www_authenticate(refused.value) == 'Bearer realm="kontakt"'


def test_the_challenge_of_a_refused_token_names_invalid_token() -> None:
    challenge = www_authenticate(_refusal(_signed(aud="another-client")))
    assert challenge.startswith('Bearer realm="kontakt", error="invalid_token"')
    assert bearer_token({"headers": {"Authorization": "bearer  abc "}}) == "abc"  # any case, spaces trimmed


def test_the_key_set_is_read_once_and_an_unknown_kid_cannot_make_every_request_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetches = []

    class Counting(tokens._KeySet):
        def fetch_data(self) -> Any:
            fetches.append(1)
            return super().fetch_data()

    monkeypatch.setitem(auth._clients, tokens.JWKS_URL, Counting(tokens.JWKS_URL, lifespan=auth.KEYS_LIFESPAN_SECONDS))
    for _ in range(3):
        verified_claims(_signed())
    assert len(fetches) == 1
    for n in range(5):
        _refusal(_signed(kid=f"made-up-{n}"))
    assert len(fetches) == 1  # within PyJWT's cooldown after a fetch: no refetch


def test_an_unreadable_key_set_is_not_a_refused_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key set that cannot be read is the API's trouble (a 503), not the client's token (a 401)."""
    monkeypatch.setenv(auth.KEYS_VARIABLE, "http://127.0.0.1:9/jwks.json")  # nothing listens; no socket needed
    monkeypatch.setitem(auth._clients, "http://127.0.0.1:9/jwks.json", Unreachable("http://127.0.0.1:9/jwks.json"))
    with pytest.raises(KeysUnavailable):
        verified_claims(_signed())


class Unreachable(jwt.PyJWKClient):
    def fetch_data(self) -> Any:
        raise jwt.PyJWKClientConnectionError("connection refused")


def test_without_its_settings_the_verifier_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.AUDIENCE_VARIABLE)
    with pytest.raises(RuntimeError, match="AUTH_AUDIENCE"):
        verified_claims(_signed())
