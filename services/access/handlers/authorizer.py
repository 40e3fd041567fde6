"""The HTTP API's Lambda authorizer (payload 2.0, simple responses): who a request is from.

It accepts a user's ID token (verified as the kernel verifies it: shared/auth.py) or an API key
(`Authorization: Bearer kk.…`, services/access/checks.py), from an address the tenant's IP rules
allow (services/access/ip_rules.py). It always answers `isAuthorized: true`
and puts its decision in the context: the principal (tenant, user, role, groups; a key's id and
permissions) or a refusal (status and detail), which the kernel answers as a 401/403 problem
before any handler runs (API Gateway's own refusals are a fixed `{"message": ...}`).

API Gateway caches the answer per identity (the Authorization header and the caller's IP) for a
few seconds, for every route: nothing here depends on the route (per-route permissions are the
kernel's, `shared.api.key_refusal`). Docs: docs/decisions.md, "API keys and the Lambda authorizer".
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.access.checks import authenticate, tenant_permits
from services.access.domain.keys import is_key
from services.access.settings import AccessSettings
from services.access.store import AccessStore
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
from shared.refusals import note_refusal

_store = AccessStore()


def decide(event: dict[str, Any]) -> dict[str, Any]:
    """The authorizer's context for a request: a principal or a refusal."""
    ip = str((event.get("requestContext") or {}).get("http", {}).get("sourceIp") or "")
    try:
        token = bearer_token(event)
        if is_key(token):
            principal = authenticate(_store, token, ip, clock.now())
        else:
            principal = from_claims(verified_claims(token))
        if not tenant_permits(_store, principal.tenant_id, ip):
            detail = "The tenant's IP rules do not allow requests from this address."
            note_refusal(principal.tenant_id, principal.key_id, ip, 403, detail, clock.now())
            raise Refused(403, detail)
        return principal_context(principal)
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
