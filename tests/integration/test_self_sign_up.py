"""Self sign-up against the emulator's directory table: the admin's setting through the directory
API, the pre-sign-up and post-confirmation triggers (driven with Cognito's events: moto does not run
triggers), and the token the login then gets from the pre-token-generation trigger."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from infra.devlogins import cognito_event
from services.directory import identity
from services.directory.store import DirectoryStore
from tests.integration.conftest import http_event
from tests.unit.directory.test_signup_triggers import POST_CONFIRMATION, PRE_SIGN_UP


def _api(lambda_env: Any, method: str, tenant: str, body: Any = None, role: str = "admin") -> tuple[int, Any]:
    from services.directory.handlers import api

    event = http_event(method, "/settings", tenant, body, user="boss", role=role)
    response = api.handler(event, lambda_env("DirectoryApiFunction"))
    return response["statusCode"], json.loads(response["body"])


def _allow(lambda_env: Any, tenant: str, *domains: str) -> None:
    status, settings = _api(lambda_env, "GET", tenant)
    assert status == 200, settings
    settings["self_sign_up"] = {"enabled": bool(domains), "allowed_domains": list(domains)}
    status, saved = _api(lambda_env, "PUT", tenant, settings)
    assert status == 200, saved


def _sign_up(lambda_env: Any, tenant: str, email: str, user_name: str) -> None:
    from services.directory.handlers import signup

    event = copy.deepcopy(PRE_SIGN_UP) | {"userName": user_name}
    event["request"]["userAttributes"]["email"] = email
    event["request"]["clientMetadata"] = {"tenant": tenant}
    signup.pre_sign_up(event, lambda_env("DirectorySignUpFunction"))


def _confirm(lambda_env: Any, subject: str, email: str) -> None:
    from services.directory.handlers import signup

    event = copy.deepcopy(POST_CONFIRMATION) | {"userName": subject}
    event["request"]["userAttributes"] |= {"sub": subject, "email": email}
    signup.post_confirmation(event, lambda_env("DirectoryJoinFunction"))


def _claims(lambda_env: Any, subject: str) -> dict[str, str]:
    from services.directory.handlers import token

    answer = token.handler(
        cognito_event(subject, "x@example.fi", "eu-north-1_X", "c"), lambda_env("DirectoryTokenFunction")
    )
    return dict(answer["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"])


def test_only_an_admin_turns_self_sign_up_on_and_only_with_a_domain(lambda_env: Any, directory_tenant: Any) -> None:
    tenant = directory_tenant()
    status, settings = _api(lambda_env, "GET", tenant)
    assert status == 200 and settings["self_sign_up"] == {"enabled": False, "allowed_domains": []}  # off by default
    settings["self_sign_up"] = {"enabled": True, "allowed_domains": ["acme.fi"]}
    assert _api(lambda_env, "PUT", tenant, settings, role="manager")[0] == 403
    settings["self_sign_up"] = {"enabled": True, "allowed_domains": []}
    assert _api(lambda_env, "PUT", tenant, settings)[0] == 422
    settings["self_sign_up"] = {"enabled": True, "allowed_domains": ["*.acme.fi"]}
    assert _api(lambda_env, "PUT", tenant, settings)[0] == 422
    settings["self_sign_up"] = {"enabled": True, "allowed_domains": ["Acme.FI"]}
    assert _api(lambda_env, "PUT", tenant, settings)[1]["self_sign_up"] == {
        "enabled": True,
        "allowed_domains": ["acme.fi"],
    }
    assert _api(lambda_env, "GET", tenant, role="user")[1]["self_sign_up"]["allowed_domains"] == ["acme.fi"]


def test_a_confirmed_self_sign_up_is_a_user_of_that_tenant_once(lambda_env: Any, directory_tenant: Any) -> None:
    from services.directory.handlers import api, token

    tenant, other = directory_tenant(), directory_tenant()
    _allow(lambda_env, tenant, "acme.fi")
    _allow(lambda_env, other, "acme.fi")
    subject, email = str(uuid.uuid4()), f"sam-{uuid.uuid4().hex[:6]}@acme.fi"

    _sign_up(lambda_env, tenant, email, subject)
    with pytest.raises(token.LoginRefused):  # not confirmed yet: no directory user, no token
        _claims(lambda_env, subject)
    _confirm(lambda_env, subject, email)
    _confirm(lambda_env, subject, email)  # Cognito may deliver the trigger twice

    claims = _claims(lambda_env, subject)
    assert (claims["tenant_id"], claims["role"], claims["groups"]) == (tenant, "user", "")
    response = api.handler(http_event("GET", "/users", tenant), lambda_env("DirectoryApiFunction"))
    users = [u for u in json.loads(response["body"])["items"] if u["email"] == email]
    assert [(u["id"], u["role"], u["groups"]) for u in users] == [(claims["user_id"], "user", [])]
    response = api.handler(http_event("GET", "/users", other), lambda_env("DirectoryApiFunction"))
    assert [u for u in json.loads(response["body"])["items"] if u["email"] == email] == []


@pytest.mark.parametrize("case", ["unknown tenant", "setting off", "domain not allowed"])
def test_a_refused_sign_up_leaves_nothing_behind(lambda_env: Any, directory_tenant: Any, case: str) -> None:
    from services.directory.handlers import signup

    tenant = directory_tenant()
    if case != "setting off":
        _allow(lambda_env, tenant, "acme.fi")
    named = f"no-{uuid.uuid4().hex[:8]}" if case == "unknown tenant" else tenant
    email = f"eve-{uuid.uuid4().hex[:6]}@{'evil.fi' if case == 'domain not allowed' else 'acme.fi'}"
    subject = str(uuid.uuid4())
    with pytest.raises(signup.SignUpRefused):
        _sign_up(lambda_env, named, email, subject)
    assert identity.pending_sign_up(subject) is None
    if case == "unknown tenant":
        assert not identity.tenant_exists(DirectoryStore(), named)  # a sign-up never creates a tenant
    with pytest.raises(signup.SignUpRefused):
        _confirm(lambda_env, subject, email)


def test_a_setting_turned_off_before_confirmation_makes_no_user(lambda_env: Any, directory_tenant: Any) -> None:
    from services.directory.handlers import signup, token

    tenant = directory_tenant()
    _allow(lambda_env, tenant, "acme.fi")
    subject, email = str(uuid.uuid4()), f"kim-{uuid.uuid4().hex[:6]}@acme.fi"
    _sign_up(lambda_env, tenant, email, subject)
    _allow(lambda_env, tenant)  # off again
    with pytest.raises(signup.SignUpRefused):
        _confirm(lambda_env, subject, email)
    with pytest.raises(token.LoginRefused):
        _claims(lambda_env, subject)
