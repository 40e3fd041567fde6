"""`kontakt tenant reindex` (services/directory/lookup.py `reindex`): records written before their
index entries existed reach the list filters and the search once the tenant is reindexed."""

from __future__ import annotations

import json
from typing import Any

from services.directory import lookup
from services.directory.handlers import api
from services.directory.store import Entry, Placement, new_record
from shared.store import UnitOfWork, record_key
from tests.integration.conftest import http_event


def _list(context: Any, tenant: str, path: str, **query: str) -> list[str]:
    response = api.handler(http_event("GET", path, tenant, query=query), context)
    assert response["statusCode"] == 200, response["body"]
    return [item["id"] for item in json.loads(response["body"])["items"]]


def test_reindex_writes_the_entries_of_records_that_had_none(lambda_env: Any, directory_tenant: Any) -> None:
    tenant = directory_tenant()
    context = lambda_env("DirectoryApiFunction")
    _list(context, tenant, "/contacts")  # the tenant's defaults, installed once
    data = {
        "id": "OLD1",
        "number": "CON-1",
        "first_name": "Olga",
        "last_name": "Vanha",
        "email": "olga@old.example",
        "owner": {"type": "user", "id": "u1"},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    uow = UnitOfWork()  # written as before the entries existed: the record alone
    uow.save(new_record(tenant, "contact", "OLD1", data, Placement(owner_id="u1")))
    uow.commit()
    assert _list(context, tenant, "/contacts", email="olga@old.example") == []
    assert _list(context, tenant, "/contacts") == ["OLD1"]

    assert lookup.reindex(tenant)["contact"] == 1
    assert _list(context, tenant, "/contacts", email="olga@old.example") == ["OLD1"]
    assert _list(context, tenant, "/contacts", name="vanha") == ["OLD1"]
    assert _list(context, tenant, "/search", q="olga") == ["OLD1"]
    entries = {e.sk for e in Entry.query(record_key(tenant, "contact", "OLD1"))}
    assert any("CONTACT#dup#e:olga@old.example" in sk for sk in entries)  # check on create finds it now
    lookup.reindex(tenant)  # again: the same entries
    assert {e.sk for e in Entry.query(record_key(tenant, "contact", "OLD1"))} == entries
