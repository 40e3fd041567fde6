"""Directory commands against the emulator: references, and numbers under concurrent writers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from services.directory import accounts
from services.directory.domain.models import ContactCreate
from services.directory.handlers import api
from services.directory.service import Caller
from services.directory.store import DirectoryStore
from shared.auth import AuthContext, Role
from shared.service import ensure_tenant
from tests.integration.conftest import http_event


def _call(context: Any, method: str, path: str, tenant: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    response = api.handler(http_event(method, path, tenant, body), context)
    return response["statusCode"], json.loads(response["body"] or "{}")


def test_one_user_can_be_owner_and_account_manager(lambda_env: Any, directory_tenant: Any) -> None:
    tenant = directory_tenant()
    context = lambda_env("DirectoryApiFunction")
    status, user = _call(context, "POST", "/users", tenant, {"email": "maija@example.com", "name": "Maija"})
    assert status == 201
    body = {"name": "Acme", "owner": {"type": "user", "id": user["id"]}, "account_manager_id": user["id"]}
    status, account = _call(context, "POST", "/accounts", tenant, body)
    assert status == 201, account
    assert (account["owner"]["id"], account["account_manager_id"]) == (user["id"], user["id"])


def test_concurrent_creates_take_distinct_numbers(lambda_env: Any, directory_tenant: Any) -> None:
    """Six writers at once (as six Lambda instances would be): every contact gets its own number."""
    tenant = directory_tenant()
    context = lambda_env("DirectoryApiFunction")
    _call(context, "GET", "/settings", tenant)  # the tenant's defaults, installed once

    def create(n: int) -> str:
        caller = Caller(
            auth=AuthContext(tenant_id=tenant, user_id="u1", role=Role.ADMIN), store=DirectoryStore(), signing_key=b"k"
        )
        ensure_tenant(caller)
        return accounts.create_contact(caller, ContactCreate(first_name=f"Person {n}")).number

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(create, range(12)))
    assert sorted(int(number.removeprefix("CON-")) for number in numbers) == list(range(1001, 1013))
