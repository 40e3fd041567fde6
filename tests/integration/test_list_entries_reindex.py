"""`kontakt tenant reindex` for the email and activities tables (`shared.lookup.IndexedStore.reindex`):
records written before their list filter entries existed reach the filters once the tenant is
reindexed, and reindexing again writes nothing new."""

from __future__ import annotations

import json
from typing import Any

from services.email.handlers import api
from services.email.store import EmailStore
from shared.ids import new_id
from shared.lookup import Entry
from shared.store import UnitOfWork, record_key
from tests.integration.conftest import http_event


def _list(context: Any, tenant: str, path: str, **query: str) -> list[str]:
    response = api.handler(http_event("GET", path, tenant, query=query), context)
    assert response["statusCode"] == 200, response["body"]
    return [item["id"] for item in json.loads(response["body"])["items"]]


def test_reindex_writes_the_entries_of_email_records_that_had_none(lambda_env: Any) -> None:
    tenant = "t" + new_id().lower()
    context = lambda_env("EmailApiFunction")
    store = EmailStore()
    data = {
        "name": "Old welcome",
        "subject": "Hi",
        "html": "<p>Hi</p>",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "created_by": "u9",
    }
    uow = UnitOfWork()  # written as before the entries existed: the record alone
    uow.save(store.new(tenant, "template", "OLD1", data))
    uow.commit()
    assert _list(context, tenant, "/email/templates", name="old") == []
    assert _list(context, tenant, "/email/templates") == ["OLD1"]

    assert store.reindex(tenant)["template"] == 1
    assert _list(context, tenant, "/email/templates", name="old") == ["OLD1"]
    assert _list(context, tenant, "/email/templates", created_by="u9") == ["OLD1"]
    pk = record_key(tenant, "template", "OLD1")
    entries = {(e.sk, e.version) for e in Entry.query(pk, Entry.sk.startswith("IX#"))}
    assert len(entries) == 2  # its name and its creator
    store.reindex(tenant)  # again: the same entries, the record untouched
    assert {(e.sk, e.version) for e in Entry.query(pk, Entry.sk.startswith("IX#"))} == entries
    assert store.get(tenant, "template", "OLD1").version == 1  # type: ignore[union-attr]
