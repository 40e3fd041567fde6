"""Cognito's pre-token-generation trigger (V1_0 event): the ID token's claims from the directory.

Cognito calls this before it issues tokens: at sign-in (`TokenGeneration_Authentication`,
`_HostedAuth`, `_NewPasswordChallenge`, `_AuthenticateDevice`) and at every refresh
(`TokenGeneration_RefreshTokens`), so a changed role or a removed user takes effect by the next
refresh. The login's subject (`request.userAttributes.sub`) is looked up in the directory; the
tenant, the directory user id, the role and the groups come from its records only. A login that
is no user of an existing tenant gets no token: the function fails and Cognito refuses the
sign-in. Claims of the V1_0 event are strings: `groups` is the group ids separated by spaces.
Cognito's own groups are cleared (`groupOverrideDetails`): Kontakt's groups are the directory's.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.directory import identity
from services.directory.settings import DirectorySettings
from services.directory.store import DirectoryStore
from shared.entry import entry
from shared.observability import logger


class LoginRefused(Exception):
    """Raised to Cognito: the sign-in (or refresh) fails and no token is issued."""


@entry(DirectorySettings, traced=False, metered=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    subject = (event.get("request", {}).get("userAttributes") or {}).get("sub")
    if not subject:
        raise LoginRefused("the event names no login subject")
    try:
        who = identity.resolve(DirectoryStore(), subject)
    except identity.UnknownLogin as refused:
        logger.warning("login refused", extra={"subject": subject, "reason": str(refused)})
        raise LoginRefused("This login is not a user of any Kontakt tenant.") from refused
    logger.info("token claims", extra={"subject": subject, "tenant_id": who.tenant_id, "user_id": who.user_id})
    event.setdefault("response", {})["claimsOverrideDetails"] = {
        "claimsToAddOrOverride": who.claims(),
        "groupOverrideDetails": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": None},
    }
    return event
