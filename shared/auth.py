"""Who is calling: the auth context the HTTP API's Lambda authorizer decided, or read from the claims
of a bearer token this module verifies.

The HTTP API's routes that need a login have a Lambda authorizer (services/access/handlers/authorizer.py,
docs/decisions.md "API keys and the Lambda authorizer"). It always lets the request through, with its
decision in `requestContext.authorizer.lambda` (only API Gateway can write it): the principal (a
user's verified token, or an API key: tenant, user, role, groups, key id, permissions) or a refusal
(status and detail), which the kernel answers as a problem before any handler runs. Without that
context (a handler invoked directly, in tests) the kernel verifies the bearer token itself, as
the authorizer does; the authorizer calls the same code. The token is verified in AWS against the
user pool's keys and under `kontakt dev` against the dev issuer's: RS256 only, the issuer, the
audience (an ID token's `aud`, an access token's `client_id`: the app client, as the JWT authorizer
checked), `exp`/`nbf` with a small leeway and `token_use`. The issuer, audience and key set URL
come from the function's environment (template.yaml). The key set is fetched on first use (not at
import) and kept for the life of the instance; PyJWT is imported then too, so a cold start's import
does not pay for it.

Nothing else in the event is read as an identity: `requestContext.authorizer.jwt` (a JWT
authorizer's claims) is ignored, because no such authorizer is configured that could have written it.
The tenant comes from the verified identity only, never from the URL or the body.
"""

import json
import os
import threading
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    USER = "user"


ISSUER_VARIABLE = "AUTH_ISSUER"
AUDIENCE_VARIABLE = "AUTH_AUDIENCE"
KEYS_VARIABLE = "AUTH_JWKS_URL"
ALGORITHM = "RS256"  # what Cognito signs with; `none` and HMAC (whose key would be public) are refused
LEEWAY_SECONDS = 30  # clock skew allowed on exp, nbf and iat
# The claim that must name the app client, by `token_use`: Cognito's ID tokens carry it as `aud`,
# its access tokens as `client_id` (they have no `aud`); the JWT authorizer accepted either.
AUDIENCE_CLAIM = {"id": "aud", "access": "client_id"}
KEYS_LIFESPAN_SECONDS = 24 * 3600  # the key set is read once per instance (a new key: see `_keys`)
KEYS_TIMEOUT_SECONDS = 5


class Unauthenticated(Exception):
    """The request carries no usable identity: no bearer token, or one that is not valid for this API.

    The message (why) is for the logs; `detail` is what the client is told. `token_given`: a bearer
    token was sent (RFC 6750: then the answer names the error `invalid_token`).
    """

    def __init__(self, reason: str, detail: str = "The token is not valid for this API.", token_given: bool = True):
        super().__init__(reason)
        self.detail = detail
        self.token_given = token_given


class KeysUnavailable(Exception):
    """The issuer's key set could not be read: no answer on the token is possible (a 503, not a 401)."""


class Refused(Exception):
    """The authorizer refused a known identity: `status` 403 (a caller's IP outside the allow-list)
    or 503 (the token could not be checked); `detail` is what the client is told."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class AuthContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    user_id: str = Field(min_length=1, max_length=128)
    role: Role = Role.USER
    groups: tuple[str, ...] = ()
    # An API key's id (the key acts as a service user of its tenant: `user_id` is the key id too)
    # and its permissions (shared/key_permissions.py), checked per route by the kernel; None for a user.
    key_id: str | None = None
    permissions: tuple[str, ...] = ()

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


def from_http_event(event: Mapping[str, Any]) -> AuthContext:
    """The auth context of an API Gateway HTTP API (payload 2.0) event: the authorizer's decision
    when API Gateway ran one, else its bearer token, verified here."""
    decided = authorizer_context(event)
    if decided is not None:
        return from_authorizer(decided)
    return from_claims(verified_claims(bearer_token(event)))


def authorizer_context(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What the Lambda authorizer put in the request's context (None: no authorizer ran)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    decided = authorizer.get("lambda") if isinstance(authorizer, Mapping) else None
    return decided if isinstance(decided, Mapping) and decided else None


# The authorizer's context, both ways: `principal_context` and `refusal_context` write it (the
# authorizer), `from_authorizer` reads it (the kernel). Values are strings and lists of strings.
REFUSED_STATUS = "refused_status"


def principal_context(auth: AuthContext) -> dict[str, Any]:
    context: dict[str, Any] = {
        "tenant_id": auth.tenant_id,
        "user_id": auth.user_id,
        "role": auth.role.value,
        "groups": list(auth.groups),
    }
    if auth.key_id is not None:
        context |= {"key_id": auth.key_id, "permissions": list(auth.permissions)}
    return context


def refusal_context(status: int, detail: str, token_given: bool = True) -> dict[str, Any]:
    return {REFUSED_STATUS: str(status), "detail": detail, "token_given": "true" if token_given else "false"}


def from_authorizer(context: Mapping[str, Any]) -> AuthContext:
    """The principal the authorizer decided; raises Unauthenticated (401) or Refused (403, 503)."""
    if REFUSED_STATUS in context:
        status, detail = int(context[REFUSED_STATUS]), str(context.get("detail") or "Refused.")
        if status == 401:
            raise Unauthenticated("refused by the authorizer", detail, str(context.get("token_given")) == "true")
        raise Refused(status, detail)
    try:
        return AuthContext(
            tenant_id=context.get("tenant_id"),
            user_id=context.get("user_id"),
            role=Role(context.get("role") or Role.USER),
            groups=parse_list_claim(context.get("groups")),
            key_id=context.get("key_id") or None,
            permissions=parse_list_claim(context.get("permissions")),
        )
    except ValueError as exc:
        raise Unauthenticated(f"authorizer context is not valid: {exc}") from exc


def bearer_token(event: Mapping[str, Any]) -> str:
    """The token of the request's `Authorization: Bearer <token>` header (payload 2.0 lowercases names)."""
    headers = event.get("headers") or {}
    value = next((str(v) for k, v in headers.items() if str(k).lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("no bearer token", "The request has no bearer token.", token_given=False)
    return token.strip()


# The last token verified, with the settings it was verified under: a request asks for its caller
# more than once (the login check, the idempotency key, the handler); only the times are checked again.
_last: tuple[tuple[str, str, str, str], dict[str, Any]] | None = None


def verified_claims(token: str) -> dict[str, Any]:
    """The claims of a token this API accepts; raises Unauthenticated for any other token."""
    global _last
    settings = _settings()
    if _last is not None and _last[0] == (token, *settings):
        claims = _last[1]
        now = time.time()
        if claims["exp"] + LEEWAY_SECONDS > now and claims.get("nbf", 0) - LEEWAY_SECONDS <= now:
            return dict(claims)
    claims = _verify(token, *settings)
    _last = ((token, *settings), claims)
    return dict(claims)


def _verify(token: str, issuer: str, audience: str, keys_url: str) -> dict[str, Any]:
    import jwt  # here, not at import: a cold start that answers no login yet does not pay for PyJWT

    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"malformed token: {error}") from error
    if header.get("alg") != ALGORITHM:  # before any key is looked up: `none`, HS256 and the like
        raise Unauthenticated(f"token algorithm {header.get('alg')!r} is not {ALGORITHM}")
    key = _signing_key(keys_url, token)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as error:
        raise Unauthenticated("token expired", "The token has expired.") from error
    except jwt.PyJWTError as error:  # signature, issuer, times, claims; a key of another type
        raise Unauthenticated(f"token refused: {error}") from error
    claim = AUDIENCE_CLAIM.get(str(claims["token_use"]))
    if claim is None:
        raise Unauthenticated(f"token_use {claims['token_use']!r} is not id or access")
    named = claims.get(claim)
    if named != audience and not (claim == "aud" and isinstance(named, list) and audience in named):
        raise Unauthenticated(f"token {claim} {named!r} is not this API's app client")
    return claims


def _settings() -> tuple[str, str, str]:
    values = tuple(os.environ.get(name, "") for name in (ISSUER_VARIABLE, AUDIENCE_VARIABLE, KEYS_VARIABLE))
    if not all(values):
        # A misconfigured function (template.yaml sets all three): an error of ours, never a pass.
        names = (ISSUER_VARIABLE, AUDIENCE_VARIABLE, KEYS_VARIABLE)
        raise RuntimeError(f"token verification needs {', '.join(names)} in the environment")
    return values[0], values[1], values[2]


_clients: dict[str, Any] = {}  # key set URL -> PyJWKClient, for the life of the instance
_clients_lock = threading.Lock()


def _signing_key(keys_url: str, token: str) -> Any:
    """The issuer's public key the token names (`kid`), from the key set read once per instance.

    A `kid` the cached set lacks makes PyJWT read the set again at most once per 30 s (a key the
    issuer rotated in is found; made-up ids cannot make every request fetch).
    """
    import jwt

    with _clients_lock:
        client = _clients.get(keys_url)
        if client is None:
            client = jwt.PyJWKClient(keys_url, lifespan=KEYS_LIFESPAN_SECONDS, timeout=KEYS_TIMEOUT_SECONDS)
            _clients[keys_url] = client
    try:
        return client.get_signing_key_from_jwt(token).key
    except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as error:
        raise KeysUnavailable(f"the key set at {keys_url} could not be read: {error}") from error
    except jwt.PyJWTError as error:  # no such kid, or no kid
        raise Unauthenticated(f"token key refused: {error}") from error
