"""Cognito's pre-sign-up and post-confirmation triggers: self sign-up into a tenant that allows it.

Self sign-up is off unless a tenant's admin turns on `self_sign_up` in the directory's settings.

- `pre_sign_up` (`PreSignUp_SignUp`): the sign-up names its tenant in `ClientMetadata` (or
  `ValidationData`) as `tenant`, never in a user attribute. Cognito creates the user only if the
  tenant exists, allows self sign-up and lists the email's domain; the function then records
  which tenant this Cognito user (`userName`: with email sign-in, a UUID Cognito generates) asked
  to join. It never confirms the user or verifies the email: Cognito mails a code, and the
  account is usable only once it is confirmed. Users made by an operator
  (`PreSignUp_AdminCreateUser`: `kontakt tenant create`, `kontakt user add`) pass; sign-ups
  through an external identity provider are refused.
- `post_confirmation` (`PostConfirmation_ConfirmSignUp`): checks the tenant again and makes the
  confirmed login (the same `userName`) a directory user with role `user` and no groups, linked
  to the login; its `clientMetadata` is `ConfirmSignUp`'s, not the sign-up's. Until then the
  pre-token-generation trigger refuses the login. A second delivery changes nothing.

A refusal raises: Cognito answers the client `UserLambdaValidationException` with the message,
which is the same for every reason (the log has the reason) so that sign-ups cannot probe which
tenants exist or what they allow.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.directory import identity
from services.directory.settings import DirectorySettings
from services.directory.store import DirectoryStore
from shared.entry import entry
from shared.observability import logger

REFUSED = "Self sign-up is not open to this email address in this tenant."


class SignUpRefused(Exception):
    """Raised to Cognito: the sign-up (or its confirmation) fails."""


def _tenant_named(request: dict[str, Any]) -> str | None:
    for source in ("clientMetadata", "validationData"):
        tenant = (request.get(source) or {}).get("tenant")
        if tenant:
            return str(tenant).strip()
    return None


@entry(DirectorySettings, traced=False, metered=False)
def pre_sign_up(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    source = event.get("triggerSource")
    if source == "PreSignUp_AdminCreateUser":
        return event  # an operator's command provisions and links this login itself
    request = event.get("request") or {}
    email = str((request.get("userAttributes") or {}).get("email") or "")
    tenant, user_name = _tenant_named(request), event.get("userName")
    try:
        if source != "PreSignUp_SignUp":
            raise identity.SignUpRefused(f"{source}: only sign-ups with an email and a password")
        if not user_name:
            raise identity.SignUpRefused("the event names no Cognito user")
        identity.check_sign_up(DirectoryStore(), tenant, email)
    except identity.SignUpRefused as refused:
        logger.warning("sign-up refused", extra={"tenant_id": tenant, "email": email, "reason": str(refused)})
        raise SignUpRefused(REFUSED) from refused
    identity.record_sign_up(str(user_name), str(tenant), email)
    logger.info("sign-up accepted", extra={"tenant_id": tenant, "email": email})
    event["response"] = {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}
    return event


@entry(DirectorySettings, traced=False, metered=False)
def post_confirmation(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("triggerSource") != "PostConfirmation_ConfirmSignUp":
        return event  # a confirmed password reset: the login is what it was
    attributes = (event.get("request") or {}).get("userAttributes") or {}
    subject, email, user_name = attributes.get("sub"), attributes.get("email"), event.get("userName")
    if not subject or not email or not user_name:
        raise SignUpRefused("The event names no login subject, email or user name.")
    try:
        joined = identity.join(DirectoryStore(), user_name, subject, email, attributes.get("name"))
    except identity.SignUpRefused as refused:
        logger.warning("sign-up not joined", extra={"subject": subject, "email": email, "reason": str(refused)})
        raise SignUpRefused(REFUSED) from refused
    logger.info(
        "sign-up joined",
        extra={"subject": subject, "tenant_id": joined.tenant_id, "user_id": joined.user_id, "new": joined.created},
    )
    return event
