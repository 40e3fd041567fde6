"""Cognito's sign-in triggers, one function: the login history and the brute-force locks.

- PreAuthentication: a sign-in begins, in every auth flow; refused (the function fails, Cognito
  answers NotAuthorizedException) while the user or the address is locked, whatever the password.
  Else it is recorded as started and counted as a failure until it passes.
- DefineAuthChallenge: the custom auth flow (CUSTOM_AUTH with SRP: SRP_A, then Cognito's own
  PASSWORD_VERIFIER) is the one place a trigger sees a wrong password: the verifier's result is in
  the session. A failure closes the attempt as failed; a success goes on to tokens.
- PostAuthentication: the sign-in passed: closed as succeeded, its count taken back.
In USER_PASSWORD_AUTH and USER_SRP_AUTH a wrong password reaches no trigger: the attempt stays
counted, and the user's next sign-in closes it as failed.

The address and user agent come from the client metadata (PreAuthentication's `validationData`):
in AWS the sign-in is started by the web app's back end (or Cognito's managed login), which passes
the caller's `ip` and `user_agent`; under `kontakt dev` the dev sign-in sets them from the request
(infra/runtime.py `sign_in`). A login that is no directory user is left to Cognito (it has no
tenant to count in).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.access import logins
from services.access.settings import AccessSettings
from services.access.store import AccessStore
from shared import clock
from shared.entry import entry
from shared.observability import logger

_store = AccessStore()


def _who(event: dict[str, Any]) -> tuple[str, str] | None:
    subject = (event.get("request", {}).get("userAttributes") or {}).get("sub") or event.get("userName") or ""
    return logins.login_of(subject) if subject else None


def _client(event: dict[str, Any]) -> tuple[str, str]:
    request = event.get("request") or {}
    metadata = request.get("validationData") or request.get("clientMetadata") or {}
    return str(metadata.get("ip") or ""), str(metadata.get("user_agent") or "")


def _define_challenge(event: dict[str, Any], tenant: str, user: str) -> None:
    session = event["request"].get("session") or []
    response = event.setdefault("response", {})
    response.update(issueTokens=False, failAuthentication=False)
    last = session[-1] if session else {}
    if len(session) == 1 and last.get("challengeName") == "SRP_A":
        response["challengeName"] = "PASSWORD_VERIFIER"
    elif len(session) == 2 and last.get("challengeName") == "PASSWORD_VERIFIER" and last.get("challengeResult"):
        response["issueTokens"] = True
    else:
        if last.get("challengeName") == "PASSWORD_VERIFIER":
            logins.failed(_store, tenant, user, *_client(event), clock.now())
        response["failAuthentication"] = True


@entry(AccessSettings, traced=False, metered=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    source = event.get("triggerSource", "")
    who = _who(event)
    if who is None:
        if source.startswith("DefineAuthChallenge"):
            event.setdefault("response", {}).update(issueTokens=False, failAuthentication=True)
        return event
    tenant, user = who
    if source.startswith("PreAuthentication"):
        try:
            logins.begin(_store, tenant, user, *_client(event), clock.now())
        except logins.LoginRefused:
            logger.info("sign-in refused: locked", extra={"tenant_id": tenant, "user_id": user})
            raise
    elif source.startswith("DefineAuthChallenge"):
        _define_challenge(event, tenant, user)
    elif source.startswith("PostAuthentication"):
        logins.succeeded(_store, tenant, user, *_client(event), clock.now())
    return event
