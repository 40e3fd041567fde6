"""`kontakt dev`'s logins: what `kontakt tenant create` and Cognito do in AWS, on the laptop.

A dev token for (tenant, user, role, groups) is made in the same two steps as a real login:

1. provisioning (`handler`, run in a worker process with the trigger function's environment):
   the tenant and the directory user are written by `services.directory.identity`, the code
   `kontakt tenant create` runs, and linked to a login subject derived from (tenant, user) -
   the stand-in for the Cognito user's `sub`;
2. sign-in: the runtime invokes the template's pre-token-generation trigger with a Cognito
   V1_0 event for that subject (`cognito_event`) and signs the claims it returns.

So a dev token carries exactly the claims AWS would put into an ID token for that login.
"""

from __future__ import annotations

import os
import uuid
from functools import cache
from typing import Any

DEV_LOGIN_NAMESPACE = uuid.UUID("5b1f3c57-7d8e-4b2a-9a57-6b3f0c1d2e4f")


def dev_subject(tenant: str, user: str) -> str:
    """The login subject (Cognito's `sub`, a UUID) of a dev user: the same for the same user."""
    return str(uuid.uuid5(DEV_LOGIN_NAMESPACE, f"{tenant}/{user}"))


def dev_email(tenant: str, user: str) -> str:
    return f"{user}@{tenant}.dev.kontakt.invalid".lower()


def cognito_event(subject: str, email: str, user_pool_id: str, client_id: str) -> dict[str, Any]:
    """A pre-token-generation V1_0 event as Cognito sends it after a sign-in."""
    return {
        "version": "1",
        "triggerSource": "TokenGeneration_Authentication",
        "region": user_pool_id.split("_", 1)[0],
        "userPoolId": user_pool_id,
        "userName": subject,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id},
        "request": {
            "userAttributes": {
                "sub": subject,
                "cognito:user_status": "CONFIRMED",
                "email_verified": "true",
                "email": email,
            },
            "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": None},
        },
        "response": {"claimsOverrideDetails": None},
    }


# Every dev user's password for the dev sign-in (`POST /dev/sign-in`): any other one fails, as a
# wrong password fails at Cognito, and counts toward a lock-out.
DEV_PASSWORD = "kontakt-dev"


def sign_in_event(
    trigger_source: str, subject: str, email: str, user_pool_id: str, client_id: str, client: dict[str, str]
) -> dict[str, Any]:
    """A sign-in trigger's event as Cognito sends it: PreAuthentication (the client's metadata in
    `validationData`), DefineAuthChallenge or PostAuthentication (in `clientMetadata`)."""
    event = cognito_event(subject, email, user_pool_id, client_id)
    event["triggerSource"] = trigger_source
    attributes = event["request"]["userAttributes"]
    if trigger_source.startswith("PreAuthentication"):
        event["request"] = {"userAttributes": attributes, "validationData": client, "userNotFound": False}
    else:
        event["request"] = {"userAttributes": attributes, "clientMetadata": client}
    event["response"] = {}
    return event


def password_session(right: bool) -> list[dict[str, Any]]:
    """DefineAuthChallenge's session after the custom flow's SRP step and Cognito's password check."""
    return [
        {"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None},
        {"challengeName": "PASSWORD_VERIFIER", "challengeResult": right, "challengeMetadata": None},
    ]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Provision (idempotently) the tenant and its user `event["user"]`, linked to a dev login."""
    from services.directory import identity
    from services.directory.domain.models import Role
    from services.directory.store import DirectoryStore

    _bind()
    tenant, user = event["tenant"], event["user"]
    subject, email = dev_subject(tenant, user), dev_email(tenant, user)
    store = DirectoryStore()
    identity.create_tenant(store, tenant)
    identity.provision_user(
        store, tenant, subject, email, Role(event["role"]), tuple(event.get("groups") or ()), user_id=user, name=user
    )
    return {"subject": subject, "email": email}


@cache
def _bind() -> None:
    from shared.store import bind_table

    bind_table(os.environ["TABLE_NAME"])
