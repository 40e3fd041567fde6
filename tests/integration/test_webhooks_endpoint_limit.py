"""The cap of 50 webhook endpoints holds when creates race (issue 20): the count is an item the create
and delete transactions update, the create on the condition that it is under the cap, so two creates
at once cannot both take the last place. Here eight creates race for three places, in threads against
the emulator; no name is resolved (the guard's resolver answers from a table). The count of endpoints
on plain http moves with a URL change, from the old URL to the new."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.webhooks import endpoints, setup
from services.webhooks.domain.endpoints import EndpointCreate, EndpointUpdate
from services.webhooks.domain.setup import WebhookSettingsUpdate
from services.webhooks.limits import MAX_ENDPOINTS, EndpointCount, EndpointLimit
from services.webhooks.service import Caller
from shared import outbound
from shared.auth import AuthContext, Role
from shared.store import ConcurrentUpdate, tenant_key
from tests.integration.conftest import new_tenant

URL = "https://hooks.example.com/kontakt"


def _caller(tenant: str) -> Caller:
    return Caller(auth=AuthContext(tenant_id=tenant, user_id="admin-1", role=Role.ADMIN))


def _create(tenant: str, n: int) -> str:
    """'created', or the refusal's class name."""
    try:
        endpoints.create_endpoint(_caller(tenant), EndpointCreate(url=f"{URL}/{n}"))
    except (EndpointLimit, ConcurrentUpdate) as refused:
        return type(refused).__name__
    return "created"


def _count(tenant: str) -> int:
    item = EndpointCount.get(tenant_key(tenant, "WEBHOOK_ENDPOINTS"), "COUNT", consistent_read=True)
    return int(item.endpoints or 0)


def _stored(tenant: str) -> int:
    return sum(1 for _ in _caller(tenant).store.all_of_kind(tenant, endpoints.ENDPOINT))


@pytest.fixture
def webhooks(lambda_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_env("WebhooksApiFunction")
    monkeypatch.setattr(outbound, "resolve", lambda host: {"hooks.example.com": ["93.184.215.14"]}[host])


@pytest.mark.usefixtures("webhooks")
def test_racing_creates_take_the_last_places_and_no_more() -> None:
    tenant = new_tenant()
    for n in range(MAX_ENDPOINTS - 3):
        assert _create(tenant, n) == "created"
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda n: _create(tenant, n), range(100, 108)))
    assert outcomes.count("created") <= 3 and set(outcomes) <= {"created", "EndpointLimit", "ConcurrentUpdate"}
    assert _stored(tenant) == _count(tenant) == MAX_ENDPOINTS - 3 + outcomes.count("created")

    while _stored(tenant) < MAX_ENDPOINTS:
        assert _create(tenant, 200 + _stored(tenant)) == "created"
    assert _create(tenant, 300) == "EndpointLimit"
    assert _stored(tenant) == _count(tenant) == MAX_ENDPOINTS


@pytest.mark.usefixtures("webhooks")
def test_racing_deletes_and_creates_keep_the_count_true() -> None:
    tenant = new_tenant()
    created = [endpoints.create_endpoint(_caller(tenant), EndpointCreate(url=f"{URL}/{n}")).id for n in range(10)]

    def delete(endpoint_id: str) -> None:
        endpoints.delete_endpoint(_caller(tenant), endpoint_id)

    with ThreadPoolExecutor(8) as pool:
        deletions = [pool.submit(delete, endpoint_id) for endpoint_id in created[:5]]
        creations = [pool.submit(_create, tenant, n) for n in range(20, 25)]
        [f.result() for f in deletions]
        outcomes = [f.result() for f in creations]
    assert _stored(tenant) == _count(tenant) == 5 + outcomes.count("created")


@pytest.mark.usefixtures("webhooks")
def test_a_url_change_moves_the_http_count_from_the_old_url() -> None:
    tenant = new_tenant()
    setup.update_settings(_caller(tenant), WebhookSettingsUpdate(allow_http=True))
    made = endpoints.create_endpoint(_caller(tenant), EndpointCreate(url="http://hooks.example.com/plain"))
    endpoints.update_endpoint(_caller(tenant), made.id, EndpointUpdate(url=URL))
    item = EndpointCount.get(tenant_key(tenant, "WEBHOOK_ENDPOINTS"), "COUNT", consistent_read=True)
    assert int(item.http or 0) == 0
    # No endpoint on http: turning it off is allowed (the race-free check reads the count).
    assert setup.update_settings(_caller(tenant), WebhookSettingsUpdate(allow_http=False)).allow_http is False
