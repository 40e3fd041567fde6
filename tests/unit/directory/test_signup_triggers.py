"""The pre-sign-up and post-confirmation triggers on Cognito's documented events, the directory stubbed.

The events are the ones Amazon Cognito's developer guide shows for these triggers ("Pre sign-up
Lambda trigger", "Post confirmation Lambda trigger"): the common fields, `request.userAttributes`,
`validationData` (pre sign-up only) and `clientMetadata`, and the response the function returns.
A refusal is an exception: Cognito then refuses the sign-up (or the confirmation) with its message.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.directory import identity
from services.directory.domain.models import SelfSignUp, TenantSettings
from services.directory.handlers import signup
from shared import entry
from tests.unit.directory.cognito_events import cognito_event

pytestmark = pytest.mark.disable_socket

SUBJECT = "a1b2c3d4-5678-90ab-cdef-EXAMPLE22222"

PRE_SIGN_UP = cognito_event(
    "PreSignUp_SignUp",
    SUBJECT,
    {
        "userAttributes": {"email": "sam@acme.fi", "name": "Sam"},
        "validationData": None,
        "clientMetadata": {"tenant": "acme"},
    },
    {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
)

POST_CONFIRMATION = cognito_event(
    "PostConfirmation_ConfirmSignUp",
    SUBJECT,
    {
        "userAttributes": {
            "sub": SUBJECT,
            "cognito:user_status": "CONFIRMED",
            "email_verified": "true",
            "email": "sam@acme.fi",
            "name": "Sam",
        },
        "clientMetadata": {},
    },
    {},
)


class Context:
    function_name = "kontakt-DirectorySignUpFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:kontakt-DirectorySignUpFunction"
    aws_request_id = "req-1"


@dataclass
class Directory:
    """What the stubbed directory holds: tenants' settings, users, pending sign-ups and logins."""

    tenants: dict[str, TenantSettings] = field(default_factory=dict)
    users: dict[tuple[str, str], str] = field(default_factory=dict)  # (tenant, email) -> user id
    pending: dict[str, str] = field(default_factory=dict)  # Cognito user name -> tenant
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)  # subject -> (tenant, user id)

    def open(self, tenant: str, *domains: str) -> None:
        self.tenants[tenant] = TenantSettings(self_sign_up=SelfSignUp(enabled=True, allowed_domains=list(domains)))


@dataclass
class LoginItem:
    data: dict[str, str]


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> Directory:
    known = Directory()

    def provision_user(store: Any, tenant: str, subject: str, email: str, **_: Any) -> identity.Provisioned:
        user_id = f"user-{len(known.users) + 1}"
        known.users[(tenant, email)] = user_id
        known.logins[subject] = (tenant, user_id)
        return identity.Provisioned(tenant, user_id, subject, created=True)

    def login(pk: str, sk: str) -> LoginItem | None:
        linked = known.logins.get(pk.removeprefix("LOGIN#"))
        return LoginItem({"tenant_id": linked[0], "user_id": linked[1]}) if linked else None

    monkeypatch.setattr(entry, "cold_start", lambda settings: None)  # no table: the directory is stubbed
    monkeypatch.setattr(identity, "tenant_settings", known.tenants.get)
    monkeypatch.setattr(identity, "find_user_by_email", lambda store, t, e: known.users.get((t, e.lower())))
    monkeypatch.setattr(identity, "record_sign_up", lambda u, t, e: known.pending.__setitem__(u, t))
    monkeypatch.setattr(identity, "pending_sign_up", known.pending.get)
    monkeypatch.setattr(identity, "_get", login)
    monkeypatch.setattr(identity, "provision_user", provision_user)
    return known


def _sign_up(tenant: str | None = "acme", email: str = "sam@acme.fi", **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(PRE_SIGN_UP) | changes
    event["request"]["userAttributes"]["email"] = email
    event["request"]["clientMetadata"] = {"tenant": tenant} if tenant else {}
    answer: dict[str, Any] = signup.pre_sign_up(event, Context())
    return answer


def _confirm(email: str = "sam@acme.fi", subject: str = SUBJECT, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(POST_CONFIRMATION) | changes
    event["request"]["userAttributes"] |= {"email": email, "sub": subject}
    answer: dict[str, Any] = signup.post_confirmation(event, Context())
    return answer


# ----------------------------------------------------------------------------- pre sign-up


def test_a_sign_up_into_a_tenant_that_allows_the_domain_is_accepted_unconfirmed(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    answer = _sign_up("acme", "Sam@ACME.fi")
    # Cognito creates the user unconfirmed and mails a code: nothing is confirmed or verified here.
    assert answer["response"] == {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}
    assert directory.pending == {SUBJECT: "acme"}  # for this Cognito user (userName: a UUID)
    assert directory.logins == {}  # no directory user before the email is confirmed


def test_the_tenant_may_come_in_validation_data(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    event = copy.deepcopy(PRE_SIGN_UP)
    event["request"]["clientMetadata"] = None
    event["request"]["validationData"] = {"tenant": "acme"}
    signup.pre_sign_up(event, Context())
    assert directory.pending == {SUBJECT: "acme"}


@pytest.mark.parametrize(
    ("tenant", "email", "reason"),
    [
        ("nope", "sam@acme.fi", "unknown tenant"),
        ("closed", "sam@acme.fi", "self sign-up off"),
        ("acme", "eve@evil.fi", "domain not allowed"),
        ("acme", "eve@sub.acme.fi", "a subdomain is another domain"),
        ("acme", "eve@acme.fi.evil.fi", "a suffix is another domain"),
        (None, "sam@acme.fi", "no tenant in the metadata"),
        ("a#b", "sam@acme.fi", "not a tenant id"),
        ("acme", "taken@acme.fi", "the tenant has a user with this email"),
    ],
)
def test_every_other_sign_up_is_refused_with_one_message(
    directory: Directory, tenant: str | None, email: str, reason: str
) -> None:
    directory.open("acme", "acme.fi")
    directory.tenants["closed"] = TenantSettings()  # the default: off
    directory.users[("acme", "taken@acme.fi")] = "u-taken"
    with pytest.raises(signup.SignUpRefused) as refused:
        _sign_up(tenant, email)
    assert str(refused.value) == signup.REFUSED, reason  # says nothing about which tenants exist
    assert directory.pending == {}


def test_a_tenant_in_a_user_attribute_does_not_count(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    event = copy.deepcopy(PRE_SIGN_UP)
    event["request"]["clientMetadata"] = {}
    event["request"]["userAttributes"] |= {"custom:tenant_id": "acme", "tenant": "acme"}
    with pytest.raises(signup.SignUpRefused):
        signup.pre_sign_up(event, Context())


def test_sign_ups_through_an_identity_provider_are_refused(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    with pytest.raises(signup.SignUpRefused):
        _sign_up(triggerSource="PreSignUp_ExternalProvider")


def test_logins_an_operator_creates_pass_untouched(directory: Directory) -> None:
    event = copy.deepcopy(PRE_SIGN_UP) | {"triggerSource": "PreSignUp_AdminCreateUser"}
    event["request"]["clientMetadata"] = {}
    assert signup.pre_sign_up(event, Context()) == event  # `kontakt tenant create` links it itself
    assert directory.pending == {}


# ----------------------------------------------------------------------------- post confirmation


def test_a_confirmed_sign_up_becomes_one_user_with_one_link_even_when_delivered_twice(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    _sign_up("acme", "sam@acme.fi")

    first = _confirm()
    second = _confirm()

    assert first == second and first["response"] == {}
    assert directory.users == {("acme", "sam@acme.fi"): "user-1"}
    assert directory.logins == {SUBJECT: ("acme", "user-1")}


def test_the_setting_is_checked_again_at_confirmation(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    _sign_up("acme", "sam@acme.fi")
    directory.tenants["acme"] = TenantSettings()  # the admin turned self sign-up off meanwhile
    with pytest.raises(signup.SignUpRefused, match="not open"):
        _confirm()
    assert directory.logins == {}


def test_a_confirmation_without_a_waiting_sign_up_makes_no_user(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    event = copy.deepcopy(POST_CONFIRMATION)
    event["request"]["clientMetadata"] = {"tenant": "acme"}  # naming a tenant at confirmation is not enough
    with pytest.raises(signup.SignUpRefused):
        signup.post_confirmation(event, Context())
    assert directory.logins == {}


def test_a_sign_up_waits_for_its_own_cognito_user_only(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    _sign_up("acme", "sam@acme.fi", userName="11111111-2222-3333-4444-555555555555")
    with pytest.raises(signup.SignUpRefused):
        _confirm(userName=SUBJECT)  # another Cognito user with that email asked for nothing
    assert directory.logins == {}
    with pytest.raises(signup.SignUpRefused):
        _sign_up("acme", "sam@acme.fi", userName=None)


def test_a_confirmed_password_reset_changes_nothing(directory: Directory) -> None:
    directory.open("acme", "acme.fi")
    directory.pending[SUBJECT] = "acme"
    _confirm(triggerSource="PostConfirmation_ConfirmForgotPassword")
    assert directory.logins == {}


# ----------------------------------------------------------------------------- the setting


def test_the_setting_is_off_by_default_and_on_only_with_exact_domains() -> None:
    assert TenantSettings().self_sign_up == SelfSignUp(enabled=False, allowed_domains=[])
    assert not TenantSettings().self_sign_up.allows("sam@acme.fi")
    setting = SelfSignUp(enabled=True, allowed_domains=[" Acme.FI ", "acme.fi", "eu.acme.fi"])
    assert setting.allowed_domains == ["acme.fi", "eu.acme.fi"]
    assert setting.allows("Sam@ACME.fi") and setting.allows("kim@eu.acme.fi")
    assert not setting.allows("eve@evil.fi") and not setting.allows("eve@x.acme.fi") and not setting.allows("acme.fi")
    assert not SelfSignUp(enabled=False, allowed_domains=["acme.fi"]).allows("sam@acme.fi")
    for bad in ({"enabled": True}, {"allowed_domains": ["*.acme.fi"]}, {"allowed_domains": ["@acme.fi"]}):
        with pytest.raises(ValueError):
            SelfSignUp.model_validate(bad)
