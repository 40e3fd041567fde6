"""The audit trail through `kontakt dev`: a change made over HTTP is read back with its who, when,
where from and what; a redelivered event is one record; tenants apart; admins only; bad
parameters named; a contact's erasure masks its personal values; records expire after the
tenant's retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_problem,
    drain,
    envelopes,
    new_tenant,
    put_envelope,
    settle,
    table_name,
    walk,
)

REQUEST_ID = "audit-e2e-request-1"


def _trail(admin: Api, **params: Any) -> list[dict[str, Any]]:
    return walk(admin, "/audit", limit=2, **params)  # pages of 2: the cursor is followed too


def _of(admin: Api, entity_type: str, entity_id: str) -> list[dict[str, Any]]:
    return _trail(admin, entity_type=entity_type, entity_id=entity_id)


@pytest.fixture(scope="module")
def changed(stack: LocalRuntime, session_api: Api) -> dict[str, Any]:
    """A tenant keeping its audit records 45 days, whose admin created a contact and changed it,
    created an email template and changed it, and replaced a picklist."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    assert admin.patch("/audit/settings", json={"retention_days": 45}).json() == {"retention_days": 45}
    contact = admin.post("/contacts", json={"first_name": "Maija", "email": "maija@example.fi"}).json()
    headers = {"X-Request-Id": REQUEST_ID, "User-Agent": "audit-e2e/1.0"}
    patched = admin.patch(f"/contacts/{contact['id']}", json={"first_name": "Maija-Liisa"}, headers=headers)
    assert patched.status_code == 200, patched.text
    template = admin.post("/email/templates", json={"name": "Hello", "subject": "Hi", "html": "<p>Hi</p>"}).json()
    assert admin.patch(f"/email/templates/{template['id']}", json={"subject": "Hello"}).status_code == 200
    region = {"items": [{"code": "north", "label": "North", "active": True}]}
    assert admin.put("/picklists/region", json=region).status_code == 200  # a setting: the kernel's event
    settle(stack, lambda: _of(admin, "setting", "directory-picklist-region"))
    settle(stack, lambda: [r for r in _of(admin, "contact", contact["id"]) if r["type"] == "contact.updated"])
    settle(stack, lambda: [r for r in _of(admin, "email_template", template["id"]) if r["type"].endswith("updated")])
    trail = _of(admin, "contact", contact["id"])
    return {"tenant": tenant, "admin": admin, "contact": contact, "trail": trail, "template": template}


def test_an_update_is_read_back_with_who_when_where_from_and_what(stack: LocalRuntime, changed: dict[str, Any]) -> None:
    admin, contact = changed["admin"], changed["contact"]
    updated, created = changed["trail"]  # newest first
    assert (updated["type"], created["type"]) == ("contact.updated", "contact.created")
    assert updated["entity_type"] == "contact" and updated["entity_id"] == contact["id"]
    assert updated["actor"] == {"type": "user", "id": "admin-1"}
    assert updated["correlation_id"] == REQUEST_ID  # the request's id, as its answer's X-Request-Id
    assert updated["origin"]["request_id"] == REQUEST_ID
    assert updated["origin"]["ip"] == "127.0.0.1" and updated["origin"]["user_agent"] == "audit-e2e/1.0"
    assert {"field": "first_name", "old": "Maija", "new": "Maija-Liisa"} in updated["changes"]
    assert not any(c["field"] in ("version", "updated_at") for c in updated["changes"])
    assert updated["masked"] is False and created["changes"] == []
    [template_updated, _] = _of(admin, "email_template", changed["template"]["id"])  # every service's writes
    assert template_updated["changes"] == [{"field": "subject", "old": "Hi", "new": "Hello"}]
    # Every service's settings too, published by the kernel (the audit service's own recorded directly).
    [picklist] = _of(admin, "setting", "directory-picklist-region")
    assert picklist["type"] == "setting.updated" and [c["field"] for c in picklist["changes"]] == ["items"]
    [retention] = _of(admin, "setting", "audit-audit")
    assert retention["changes"] == [{"field": "retention_days", "old": 365, "new": 45}]

    # The same record by actor and by time range; `from`/`to` bound them.
    assert updated in _trail(admin, actor_id="admin-1")
    occurred = datetime.fromisoformat(updated["occurred_at"])
    second = timedelta(seconds=1)
    window = {"from": (occurred - second).isoformat(), "to": (occurred + second).isoformat()}
    assert updated in _trail(admin, **window)
    later = {"from": (occurred + timedelta(seconds=1)).isoformat()}
    assert _trail(admin, entity_type="contact", entity_id=contact["id"], **later) == []

    # Kept for the tenant's retention: the item's TTL is 45 days after the change.
    dynamodb = stack.client("dynamodb")
    key = f"T#{changed['tenant']}#ENTITY#contact#{contact['id']}"
    items = dynamodb.query(
        TableName=table_name(stack, "AuditTable"),
        IndexName="by_entity",
        KeyConditionExpression="gsi1pk = :k",
        ExpressionAttributeValues={":k": {"S": key}},
    )["Items"]
    expires = {int(item["expires_at"]["N"]) for item in items}
    assert expires and all(abs(e - (occurred + timedelta(days=45)).timestamp()) < 120 for e in expires)

    # The console page's "Recent audit" panel shows it.
    panels = requests.get(f"{stack.api_url}/dev/api/state", timeout=30).json()["panels"]
    [audit] = [panel for panel in panels if panel["name"] == "audit"]
    assert any(r["correlation"] == REQUEST_ID and r["event"] == "contact.updated" for r in audit["data"])


def test_tenants_apart_admins_only_and_bad_parameters_named(api: Api, changed: dict[str, Any]) -> None:
    admin, contact = changed["admin"], changed["contact"]
    stranger = api.as_(new_tenant(), "admin-1", "admin")
    assert _of(stranger, "contact", contact["id"]) == []
    assert _trail(stranger, actor_id="admin-1") == []
    user = api.as_(changed["tenant"], "user-1", "user")
    assert_problem(user.get("/audit", params={"entity_type": "contact", "entity_id": contact["id"]}), 403)
    assert_problem(user.get("/audit/settings"), 403)

    assert_problem(admin.get("/audit", params={"entity_type": "contact"}), 422, "query.entity_id")
    both = {"entity_type": "contact", "entity_id": contact["id"], "actor_id": "admin-1"}
    assert_problem(admin.get("/audit", params=both), 422, "query.actor_id")
    now = datetime.now(UTC)
    backwards = {"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}
    assert_problem(admin.get("/audit", params=backwards), 422, "query.from")
    assert_problem(admin.get("/audit", params={"entity_type": "Contact!", "entity_id": "x"}), 422, "query.entity_type")
    assert_problem(admin.patch("/audit/settings", json={"retention_days": 1}), 422, "retention_days")


def test_a_redelivered_event_is_one_record(stack: LocalRuntime, changed: dict[str, Any]) -> None:
    admin, tenant = changed["admin"], changed["tenant"]
    envelope = {
        "id": "01JAUDITREDELIVERED000000A",
        "type": "contact.deleted",
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "key", "id": "key-1"},
        "correlation_id": "redelivered",
        "data": {"id": "gone-1"},
    }
    put_envelope(stack, envelope)
    put_envelope(stack, envelope)  # the bus delivers it again
    [record] = settle(stack, lambda: _of(admin, "contact", "gone-1"))
    assert record["id"] == envelope["id"] and record["actor"] == {"type": "key", "id": "key-1"}
    assert record["origin"] is None  # no request: a schedule's or the system's work
    assert len(_of(admin, "contact", "gone-1")) == 1


def test_an_erased_contact_keeps_who_when_and_which_fields_but_no_values(
    stack: LocalRuntime, changed: dict[str, Any]
) -> None:
    admin = changed["admin"]
    contact = admin.post("/contacts", json={"first_name": "Pekka", "email": "pekka@example.fi"}).json()
    admin.patch(f"/contacts/{contact['id']}", json={"email": "pekka.p@example.fi"})
    before = settle(stack, lambda: [r for r in _of(admin, "contact", contact["id"]) if r["type"] == "contact.updated"])
    assert {"field": "email", "old": "pekka@example.fi", "new": "pekka.p@example.fi"} in before[0]["changes"]

    assert admin.post(f"/contacts/{contact['id']}/erase").status_code == 200
    trail = settle(stack, lambda: (t := _of(admin, "contact", contact["id"]))[0]["type"] == "contact.erased" and t)
    erased, updated, _created = trail
    assert erased["actor"] == {"type": "user", "id": "admin-1"} and erased["masked"] is True
    assert {"field": "email", "old": "[erased]", "new": None} in erased["changes"]
    assert updated["masked"] is True and updated["actor"] == before[0]["actor"]
    assert {"field": "email", "old": "[erased]", "new": "[erased]"} in updated["changes"]
    assert "pekka" not in str(trail)

    # Append-only: the update's event delivered again after the erasure writes nothing over its masked record.
    [sent] = [e for e in envelopes(stack, changed["tenant"], "contact.updated") if e["id"] == updated["id"]]
    put_envelope(stack, sent)
    drain(stack)
    assert _of(admin, "contact", contact["id"]) == trail
