"""The HTTP API's Lambda authorizer (payload 2.0, simple responses): who a request is from.

It accepts a user's ID token (verified as the kernel verifies it: shared/auth.py) or an API key
(`Authorization: Bearer kk.…`, services/access/keys.py). It always answers `isAuthorized: true`
and puts its decision in the context: the principal (tenant, user, role, groups; a key's id and
permissions) or a refusal (status and detail), which the kernel answers as a 401/403 problem
before any handler runs (API Gateway's own refusals are a fixed `{"message": ...}`).

API Gateway caches the answer per identity (the Authorization header and the caller's IP) for a
few seconds, for every route: nothing here depends on the route (per-route permissions are the
kernel's, `shared.api.key_refusal`). Docs: docs/decisions.md, "API keys and the Lambda authorizer".
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.access.domain.keys import is_key
from services.access.settings import AccessSettings
from shared import clock
from shared.auth import (
    KeysUnavailable,
    Refused,
    Unauthenticated,
    bearer_token,
    from_claims,
    principal_context,
    refusal_context,
    verified_claims,
)
from shared.entry import entry
from shared.observability import logger

_store: Any = None


def _keys_store() -> Any:
    global _store
    if _store is None:  # imported on the first key: a user's token needs no table
        from services.access.store import AccessStore

        _store = AccessStore()
    return _store


def decide(event: dict[str, Any]) -> dict[str, Any]:
    """The authorizer's context for a request: a principal or a refusal."""
    try:
        token = bearer_token(event)
        if is_key(token):
            from services.access.keys import authenticate

            ip = str((event.get("requestContext") or {}).get("http", {}).get("sourceIp") or "")
            return principal_context(authenticate(_keys_store(), token, ip, clock.now()))
        return principal_context(from_claims(verified_claims(token)))
    except Unauthenticated as error:
        logger.info("refused", extra={"reason": str(error)})
        return refusal_context(401, error.detail, error.token_given)
    except Refused as refused:
        logger.info("refused", extra={"reason": refused.detail})
        return refusal_context(refused.status, refused.detail)
    except KeysUnavailable:
        logger.exception("token keys unavailable")
        return refusal_context(503, "Logins cannot be checked right now; retry later.")


@entry(AccessSettings, http=True, traced=False, metered=False)  # a few ms per request: no X-Ray SDK, no metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"isAuthorized": True, "context": decide(event)}
