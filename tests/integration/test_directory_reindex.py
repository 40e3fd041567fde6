"""`kontakt tenant reindex` (services/directory/lookup.py `reindex`): records written before their
index entries existed reach the list filters and the search once the tenant is reindexed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.directory import lookup
from services.directory.handlers import api
from services.directory.store import Entry, Placement, new_record
from shared.lookup import SEP
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


def _dup_keys(tenant: str, record_id: str) -> set[str]:
    """The record's duplicate keys, from its `<KIND>#dup#<key>` entries."""
    entries = Entry.query(record_key(tenant, "contact", record_id))
    return {str(e.sk).split("#dup#", 1)[1].split(SEP)[0] for e in entries if "#dup#" in e.sk}


def test_a_rekey_of_a_superseded_country_stops_and_writes_nothing(lambda_env: Any, directory_tenant: Any) -> None:
    """The re-key job's record transaction holds only at its generation: a job of a country changed
    again meanwhile stops (and its message does nothing), the current one re-keys."""
    from services.directory import duplicate_rekeys as rekeys
    from services.directory.service import service_caller
    from services.directory.settings import DirectorySettings

    tenant = directory_tenant()
    context = lambda_env("DirectoryApiFunction")
    body = {"first_name": "Pekka", "last_name": "Virta", "mobile": "070 123 4567"}
    made = api.handler(http_event("POST", "/contacts", tenant, body=body), context)
    assert made["statusCode"] == 201, made["body"]
    contact = json.loads(made["body"])["id"]
    assert "p:+358701234567" in _dup_keys(tenant, contact)
    caller = service_caller(tenant)
    for generation, country in ((1, "SE"), (2, "DE")):  # two changes, as two PUTs commit them
        uow = UnitOfWork()
        assert rekeys.stage_start(caller, uow, "contacts", "FI", country) == generation
        uow.commit()
    pointer = caller.store.get(tenant, rekeys.REKEY, "contacts")
    assert pointer is not None
    with pytest.raises(rekeys.Superseded):  # generation 1's transaction of the record, after the second change
        rekeys._rekey_one(caller, pointer, "contact", contact, "SE", 1)
    settings = DirectorySettings(table_name="unused", scans_queue_url="unused")
    rekeys.run_rekey(caller, "contacts", 1, settings)  # the first change's message: nothing
    assert "p:+358701234567" in _dup_keys(tenant, contact)
    rekeys.run_rekey(caller, "contacts", 2, settings)  # a page of 1,000: done without a continuation
    assert "p:+49701234567" in _dup_keys(tenant, contact) and "p:+358701234567" not in _dup_keys(tenant, contact)
    state = rekeys.latest(caller, "contacts")
    assert state is not None and (state.country, state.state, state.records_rekeyed) == ("DE", "completed", 1)
