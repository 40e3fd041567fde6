"""`kontakt tenant reindex` gives records written before the `by_update` index their update-time
keys (`shared.store.resync`): `updated_since` lists them then, at their `updated_at`."""

from __future__ import annotations

import json
from typing import Any

from services.directory.handlers import api
from services.directory.store import Placement, Record, new_record
from shared.store import record_key, resync
from tests.integration.conftest import http_event


def _sync(context: Any, tenant: str, since: str) -> list[str]:
    response = api.handler(http_event("GET", "/contacts", tenant, query={"updated_since": since}), context)
    assert response["statusCode"] == 200, response["body"]
    return [item["id"] for item in json.loads(response["body"])["items"]]


def test_resync_keys_the_records_written_before_the_index(lambda_env: Any, directory_tenant: Any) -> None:
    tenant = directory_tenant()
    context = lambda_env("DirectoryApiFunction")
    data = {
        "id": "OLD1",
        "number": "CON-1",
        "first_name": "Olga",
        "owner": {"type": "user", "id": "u1"},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-02-01T00:00:00Z",
    }
    new_record(tenant, "contact", "OLD1", data, Placement(owner_id="u1")).save()  # as before: no sync keys
    assert _sync(context, tenant, "2026-01-15T00:00:00Z") == []

    assert resync(Record, tenant)["contact"] == 1
    assert _sync(context, tenant, "2026-01-15T00:00:00Z") == ["OLD1"]
    assert _sync(context, tenant, "2026-02-01T00:00:01Z") == []  # keyed at its updated_at, not now
    stored = Record.get(record_key(tenant, "contact", "OLD1"), "CONTACT")
    assert stored.version == 1  # no version change: its ETag stays
    assert resync(Record, tenant)["contact"] == 0  # again: nothing to do
