"""The pre-token-generation trigger and login provisioning against the emulator's directory table."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from infra.devlogins import cognito_event
from services.directory import identity
from services.directory.domain.models import PicklistName, Role
from services.directory.handlers import api
from services.directory.service import TENANT_KIND, TENANT_SETTINGS, picklist_setting
from services.directory.store import DirectoryStore, Placement, Record, new_record
from shared.errors import Conflict
from shared.service import SETTING
from shared.store import record_key
from tests.integration.conftest import http_event, new_tenant


def _event(subject: str, source: str = "TokenGeneration_Authentication") -> dict[str, Any]:
    event = cognito_event(subject, "someone@example.fi", "eu-north-1_EXAMPLE", "client")
    return copy.deepcopy(event) | {"triggerSource": source}


def _claims(lambda_env: Any, subject: str, source: str = "TokenGeneration_Authentication") -> dict[str, str]:
    from services.directory.handlers import token

    answer = token.handler(_event(subject, source), lambda_env("DirectoryTokenFunction"))
    return dict(answer["response"]["claimsOverrideDetails"]["claimsToAddOrOverride"])


def _provision(lambda_env: Any, role: Role = Role.USER, groups: tuple[str, ...] = ()) -> tuple[str, str, str]:
    lambda_env("DirectoryTokenFunction")
    tenant, subject = new_tenant(), str(uuid.uuid4())
    store = DirectoryStore()
    assert identity.create_tenant(store, tenant) is True
    assert identity.create_tenant(store, tenant) is False
    user = identity.provision_user(store, tenant, subject, "sam@example.fi", role, groups).user_id
    return tenant, subject, user


def test_a_provisioned_login_gets_its_directory_users_claims(lambda_env: Any) -> None:
    tenant, subject, user = _provision(lambda_env, Role.MANAGER, ("g1",))
    assert _claims(lambda_env, subject) == {"tenant_id": tenant, "user_id": user, "role": "manager", "groups": "g1"}
    again = identity.provision_user(DirectoryStore(), tenant, subject, "sam@example.fi")
    assert (again.user_id, again.created) == (user, False)  # idempotent, the role kept
    assert _claims(lambda_env, subject, "TokenGeneration_RefreshTokens")["role"] == "manager"


def test_a_role_a_login_brings_is_found_by_the_users_role_filter(lambda_env: Any) -> None:
    from services.directory.handlers import api

    tenant, subject, user = _provision(lambda_env)  # a user
    identity.provision_user(DirectoryStore(), tenant, subject, "sam@example.fi", Role.MANAGER)

    def listed(role: str) -> list[str]:
        event = http_event("GET", "/users", tenant, user="boss", query={"role": role})
        answer = api.handler(event, lambda_env("DirectoryApiFunction"))
        assert answer["statusCode"] == 200, answer["body"]
        return [item["id"] for item in json.loads(answer["body"])["items"]]

    assert user in listed("manager")  # the index entries follow the record's new role
    assert user not in listed("user")


def test_an_admins_role_change_reaches_the_next_refresh(lambda_env: Any) -> None:
    from services.directory.handlers import api

    tenant, subject, user = _provision(lambda_env)
    body = {"role": "admin", "name": "Sam S"}
    response = api.handler(
        http_event("PATCH", f"/users/{user}", tenant, body, user="boss"), lambda_env("DirectoryApiFunction")
    )
    assert response["statusCode"] == 200, response["body"]
    assert "login_subject" not in json.loads(response["body"])  # the API does not show the link
    assert _claims(lambda_env, subject, "TokenGeneration_RefreshTokens")["role"] == "admin"


def test_no_token_without_the_tenant_record(lambda_env: Any) -> None:
    from services.directory.handlers import token

    tenant, subject, _ = _provision(lambda_env)
    Record.get(record_key(tenant, "tenant", tenant), "TENANT").delete()
    with pytest.raises(token.LoginRefused):
        _claims(lambda_env, subject)


def test_no_token_for_a_user_that_is_not_linked_to_the_login(lambda_env: Any) -> None:
    from services.directory.handlers import token

    tenant, subject, user = _provision(lambda_env)
    record = Record.get(record_key(tenant, "user", user), "USER")
    record.fields = {**record.data, "login_subject": str(uuid.uuid4())}  # type: ignore[assignment]
    record.save()
    with pytest.raises(token.LoginRefused):
        _claims(lambda_env, subject)
    with pytest.raises(token.LoginRefused):
        _claims(lambda_env, str(uuid.uuid4()))  # a login nobody provisioned


def test_one_login_is_one_user_of_one_tenant(lambda_env: Any) -> None:
    tenant, subject, user = _provision(lambda_env)
    store = DirectoryStore()
    other = new_tenant()
    identity.create_tenant(store, other)
    with pytest.raises(Conflict):
        identity.provision_user(store, other, subject, "sam@example.fi", Role.ADMIN)
    with pytest.raises(Conflict):
        identity.provision_user(store, tenant, subject, "sam@example.fi", user_id="someone-else")
    with pytest.raises(identity.UnknownLogin):
        identity.provision_user(store, new_tenant(), str(uuid.uuid4()), "x@example.fi")  # no such tenant
    assert _claims(lambda_env, subject)["user_id"] == user


def test_an_invalid_tenant_id_is_never_created(lambda_env: Any) -> None:
    lambda_env("DirectoryTokenFunction")
    with pytest.raises(ValueError):
        identity.create_tenant(DirectoryStore(), "a/b")


def test_a_new_tenant_has_its_default_settings_and_picklists(lambda_env: Any) -> None:
    lambda_env("DirectoryTokenFunction")
    tenant, store = new_tenant(), DirectoryStore()
    assert identity.create_tenant(store, tenant) is True
    assert store.get(tenant, SETTING, TENANT_SETTINGS) is not None
    assert store.get(tenant, SETTING, picklist_setting(PicklistName.region)) is not None


def test_a_tenant_recorded_without_its_defaults_gets_them_on_its_first_request(lambda_env: Any) -> None:
    """A provisioning run stopped between the tenant record and its defaults leaves a working tenant."""
    context = lambda_env("DirectoryApiFunction")
    tenant = new_tenant()
    data = {"id": tenant, "name": tenant, "created_at": "2026-12-01T00:00:00+00:00"}
    new_record(tenant, TENANT_KIND, tenant, data, Placement()).save()
    response = api.handler(http_event("GET", "/picklists/account_status", tenant), context)
    assert response["statusCode"] == 200, response["body"]
    assert "active" in [item["code"] for item in json.loads(response["body"])]
    assert DirectoryStore().get(tenant, SETTING, TENANT_SETTINGS) is not None  # installed by that request
