"""The pre-token-generation trigger on Cognito's documented V1_0 event, the directory stubbed.

The event is the one Amazon Cognito's developer guide shows for this trigger ("Pre token
generation Lambda trigger", V1_0): common fields, `request.userAttributes` with the `sub`,
`groupConfiguration`, and an empty `response.claimsOverrideDetails` that the function fills in.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.directory import identity
from services.directory.domain.models import Role
from services.directory.handlers import token
from shared import entry
from shared.auth import AuthContext, from_claims
from tests.unit.directory.cognito_events import cognito_event

pytestmark = pytest.mark.disable_socket

SUBJECT = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

DOCUMENTED_EVENT = cognito_event(
    "TokenGeneration_Authentication",
    SUBJECT,
    {
        "userAttributes": {
            "sub": SUBJECT,
            "cognito:user_status": "CONFIRMED",
            "email_verified": "true",
            "email": "sam@example.fi",
            # What an attacker might have managed to set on their own Cognito user:
            "custom:tenant_id": "someone-else",
            "custom:role": "admin",
        },
        "groupConfiguration": {"groupsToOverride": ["admins"], "iamRolesToOverride": [], "preferredRole": None},
    },
    {"claimsOverrideDetails": None},
)


class Context:
    function_name = "kontakt-DirectoryTokenFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:kontakt-DirectoryTokenFunction"
    aws_request_id = "req-1"


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> dict[str, identity.Identity]:
    """Logins known to the stubbed directory, by subject."""
    known: dict[str, identity.Identity] = {}

    def resolve(store: Any, subject: str) -> identity.Identity:
        if subject not in known:
            raise identity.UnknownLogin("the login is not a user of any tenant")
        return known[subject]

    monkeypatch.setattr(entry, "cold_start", lambda settings: None)  # no table: the directory is stubbed
    monkeypatch.setattr(token.identity, "resolve", resolve)
    return known


@pytest.mark.parametrize(
    "source",
    [
        "TokenGeneration_Authentication",
        "TokenGeneration_HostedAuth",
        "TokenGeneration_NewPasswordChallenge",
        "TokenGeneration_AuthenticateDevice",
        "TokenGeneration_RefreshTokens",
    ],
)
def test_the_claims_are_the_directory_users(directory: dict[str, identity.Identity], source: str) -> None:
    directory[SUBJECT] = identity.Identity("acme", "01JDIRECTORYUSER0000000000", Role.MANAGER, ("g1", "g2"))
    event = copy.deepcopy(DOCUMENTED_EVENT) | {"triggerSource": source}

    answer = token.handler(event, Context())

    details = answer["response"]["claimsOverrideDetails"]
    claims = details["claimsToAddOrOverride"]
    assert claims == {
        "tenant_id": "acme",
        "user_id": "01JDIRECTORYUSER0000000000",
        "role": "manager",
        "groups": "g1 g2",
    }
    assert all(isinstance(v, str) for v in claims.values())  # V1_0 takes string claims only
    assert details["groupOverrideDetails"]["groupsToOverride"] == []  # Cognito's own groups are dropped
    assert answer["request"] == DOCUMENTED_EVENT["request"] and answer["userName"] == SUBJECT

    # What the kernel reads from the ID token Cognito then issues (its own claims plus these):
    id_token = {"sub": SUBJECT, "email": "sam@example.fi", "custom:role": "admin", "token_use": "id", **claims}
    assert from_claims(id_token) == AuthContext(
        tenant_id="acme", user_id="01JDIRECTORYUSER0000000000", role=Role.MANAGER, groups=("g1", "g2")
    )


def test_no_groups_is_an_empty_claim(directory: dict[str, identity.Identity]) -> None:
    directory[SUBJECT] = identity.Identity("acme", "u1", Role.USER, ())
    claims = token.handler(copy.deepcopy(DOCUMENTED_EVENT), Context())["response"]["claimsOverrideDetails"]
    assert claims["claimsToAddOrOverride"]["groups"] == ""
    assert from_claims({"sub": SUBJECT, **claims["claimsToAddOrOverride"]}).groups == ()


def test_a_login_the_directory_does_not_know_is_refused(directory: dict[str, identity.Identity]) -> None:
    with pytest.raises(token.LoginRefused, match="not a user of any Kontakt tenant"):
        token.handler(copy.deepcopy(DOCUMENTED_EVENT), Context())


def test_an_event_without_a_subject_is_refused(directory: dict[str, identity.Identity]) -> None:
    event = copy.deepcopy(DOCUMENTED_EVENT)
    del event["request"]["userAttributes"]["sub"]
    with pytest.raises(token.LoginRefused):
        token.handler(event, Context())
