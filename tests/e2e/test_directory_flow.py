"""Accounts and contacts as a client sees them: CRUD, paging, events on the bus, picklists, numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, envelopes, new_tenant, settle, walk

if TYPE_CHECKING:
    from conftest import Api

ENVELOPE_FIELDS = {
    *("id", "type", "version", "tenant_id", "occurred_at", "actor", "correlation_id", "causation", "data"),
    *("origin", "changes"),
}


def _one_event(stack: LocalRuntime, tenant: str, event_type: str, record_id: str) -> dict[str, Any]:
    found = [e for e in envelopes(stack, tenant, event_type) if e["data"].get("id") == record_id]
    assert len(found) == 1, f"{event_type} for {record_id}: {found}"
    event = found[0]
    assert set(event) == ENVELOPE_FIELDS
    assert event["type"] == event_type
    assert event["version"] == 1
    assert event["tenant_id"] == tenant
    assert event["occurred_at"]
    assert event["correlation_id"]
    assert event["id"]
    return event


def test_account_and_contact_lifecycle_with_events(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    account = admin.post("/accounts", json={"name": "Acme Oy", "city": "Oulu", "status": "prospect"})
    assert account.status_code == 201, account.text
    account = account.json()
    assert account["number"] == "ACC-1001"
    assert account["version"] == 1
    assert account["owner"] == {"type": "user", "id": "admin-1"}

    first = admin.post(
        "/contacts",
        json={
            "first_name": "Anna",
            "last_name": "Virtanen",
            "email": "anna@acme.example.fi",
            "phone": "+358 40 123 4567",
            "account_id": account["id"],
            "job_title": "ceo",
            "groups": ["newsletter", "vip"],
            "consent_date": "2024-01-15",
        },
    )
    assert first.status_code == 201, first.text
    first = first.json()
    second = admin.post("/contacts", json={"last_name": "Korhonen"})
    assert second.status_code == 201, second.text
    second = second.json()
    third = admin.post("/contacts", json={"first_name": "Pekka"})
    assert third.status_code == 201, third.text
    third = third.json()
    assert [c["number"] for c in (first, second, third)] == ["CON-1001", "CON-1002", "CON-1003"]

    # Lists: pages of one, following next_cursor, see every record once.
    contacts = walk(admin, "/contacts", limit=1)
    ids = [c["id"] for c in contacts]
    assert len(ids) == len(set(ids)) == 3
    assert set(ids) == {first["id"], second["id"], third["id"]}
    assert [a["id"] for a in walk(admin, "/accounts", limit=1)] == [account["id"]]
    by_account = admin.get("/contacts", params={"account_id": account["id"]}).json()
    assert [c["id"] for c in by_account["items"]] == [first["id"]]

    got = admin.get(f"/contacts/{first['id']}")
    assert got.status_code == 200
    assert got.json() == {k: v for k, v in first.items() if k != "possible_duplicates"}  # only a create tells those

    # PATCH: only the fields sent change; null clears an optional field; number stays.
    patched = admin.patch(f"/contacts/{first['id']}", json={"department": "Sales", "phone": None})
    assert patched.status_code == 200, patched.text
    patched = patched.json()
    assert patched["department"] == "Sales"
    assert patched["phone"] is None
    assert patched["version"] == first["version"] + 1
    skipped = {"department", "phone", "version", "updated_at", "possible_duplicates"}
    unchanged = {k: v for k, v in first.items() if k not in skipped}
    assert {k: patched[k] for k in unchanged} == unchanged
    assert admin.get(f"/contacts/{first['id']}").json() == patched

    account_patch = admin.patch(f"/accounts/{account['id']}", json={"status": "active"}).json()
    assert account_patch["status"] == "active"
    assert account_patch["number"] == "ACC-1001"
    assert account_patch["name"] == "Acme Oy" and account_patch["city"] == "Oulu"
    assert account_patch["version"] == 2

    # DELETE: an account with contacts is kept; a contact goes for good.
    assert_problem(admin.delete(f"/accounts/{account['id']}"), 409)
    assert admin.get(f"/accounts/{account['id']}").json()["version"] == 2
    deleted = admin.delete(f"/contacts/{second['id']}")
    assert deleted.status_code == 204, deleted.text
    assert_problem(admin.get(f"/contacts/{second['id']}"), 404)
    assert_problem(admin.delete(f"/contacts/{second['id']}"), 404)
    assert {c["id"] for c in walk(admin, "/contacts", limit=2)} == {first["id"], third["id"]}

    settle(stack, lambda: envelopes(stack, tenant, "contact.deleted"))
    created = _one_event(stack, tenant, "account.created", account["id"])
    assert created["actor"] == {"type": "user", "id": "admin-1"}
    assert created["data"]["record"]["number"] == "ACC-1001"
    for contact in (first, second, third):
        event = _one_event(stack, tenant, "contact.created", contact["id"])
        assert event["actor"] == {"type": "user", "id": "admin-1"}
        assert event["data"]["record"]["email"] == contact["email"]
    updated = _one_event(stack, tenant, "contact.updated", first["id"])
    assert updated["actor"] == {"type": "user", "id": "admin-1"}
    assert updated["data"]["record"]["department"] == "Sales"
    assert set(updated["data"]["changed"]) == {"department", "phone"}
    _one_event(stack, tenant, "account.updated", account["id"])
    gone = _one_event(stack, tenant, "contact.deleted", second["id"])
    assert gone["actor"] == {"type": "user", "id": "admin-1"}
    assert not [e for e in envelopes(stack, tenant, "account.deleted")]
    assert not [e for e in envelopes(stack, tenant, "contact.deleted") if e["data"]["id"] != second["id"]]


def test_patch_of_a_contact_without_changes_keeps_its_fields(admin: Api) -> None:
    contact = admin.post("/contacts", json={"first_name": "Liisa", "email": "liisa@example.fi"}).json()
    patched = admin.patch(f"/contacts/{contact['id']}", json={})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["first_name"] == "Liisa" and body["email"] == "liisa@example.fi"
    assert body["number"] == contact["number"]
    # A PATCH may not take the contact's last name away.
    assert_problem(admin.patch(f"/contacts/{contact['id']}", json={"first_name": None}), 422, "first_name")
    assert admin.get(f"/contacts/{contact['id']}").json()["first_name"] == "Liisa"


def test_picklists_defaults_replace_and_validation(api: Api, admin: Api, tenant: str) -> None:
    statuses = admin.get("/picklists/account_status")
    assert statuses.status_code == 200, statuses.text
    codes = [item["code"] for item in statuses.json()]
    assert "ceased" in codes and "active" in codes

    titles = [{"code": "boss", "label": "Boss"}, {"code": "intern", "label": "Intern", "active": False}]
    replaced = admin.put("/picklists/job_title", json={"items": titles})
    assert replaced.status_code == 200, replaced.text
    assert [i["code"] for i in admin.get("/picklists/job_title").json()] == ["boss", "intern"]

    # A code not in the list (a default one that was replaced) or an inactive one: 422 naming the field.
    assert_problem(admin.post("/contacts", json={"first_name": "A", "job_title": "ceo"}), 422, "job_title")
    assert_problem(admin.post("/contacts", json={"first_name": "A", "job_title": "intern"}), 422, "job_title")
    assert_problem(admin.post("/contacts", json={"first_name": "A", "groups": ["vip", "nope"]}), 422, "groups.1")
    assert_problem(admin.post("/accounts", json={"name": "X", "status": "bogus"}), 422, "status")
    assert admin.get("/contacts").json()["items"] == []
    ok = admin.post("/contacts", json={"first_name": "A", "job_title": "boss"})
    assert ok.status_code == 201, ok.text
    assert_problem(admin.patch(f"/contacts/{ok.json()['id']}", json={"job_title": "ceo"}), 422, "job_title")

    # Only an admin replaces a list.
    user = api.as_(tenant, "user-1", "user")
    assert_problem(user.put("/picklists/job_title", json={"items": [{"code": "x", "label": "X"}]}), 403)
    manager = api.as_(tenant, "manager-1", "manager")
    assert_problem(manager.put("/picklists/job_title", json={"items": [{"code": "x", "label": "X"}]}), 403)
    assert [i["code"] for i in user.get("/picklists/job_title").json()] == ["boss", "intern"]


def test_human_numbers_per_tenant_and_prefix_from_settings(api: Api) -> None:
    first_tenant, second_tenant, third_tenant = new_tenant(), new_tenant(), new_tenant()
    a = api.as_(first_tenant, "u", "admin")
    b = api.as_(second_tenant, "u", "admin")
    assert a.post("/accounts", json={"name": "One"}).json()["number"] == "ACC-1001"
    assert b.post("/accounts", json={"name": "One"}).json()["number"] == "ACC-1001"
    assert a.post("/accounts", json={"name": "Two"}).json()["number"] == "ACC-1002"
    # Modules count independently.
    assert a.post("/contacts", json={"first_name": "P"}).json()["number"] == "CON-1001"
    assert b.post("/accounts", json={"name": "Two"}).json()["number"] == "ACC-1002"

    c = api.as_(third_tenant, "u", "admin")
    settings = c.get("/settings").json()
    assert settings["number_prefixes"]["accounts"] == "ACC-"
    settings["number_prefixes"] = {"accounts": "K-", "contacts": "P/", "target_groups": "TG-"}
    settings["number_start"] = 1
    changed = c.put("/settings", json=settings)
    assert changed.status_code == 200, changed.text
    assert c.get("/settings").json() == settings
    assert c.post("/accounts", json={"name": "One"}).json()["number"] == "K-1"
    assert c.post("/accounts", json={"name": "Two"}).json()["number"] == "K-2"
    assert c.post("/contacts", json={"first_name": "P"}).json()["number"] == "P/1"
    # The other tenants keep their own settings and counters.
    assert a.post("/accounts", json={"name": "Three"}).json()["number"] == "ACC-1003"
    # Only an admin changes settings.
    user = api.as_(third_tenant, "someone", "user")
    assert_problem(user.put("/settings", json={"number_start": 5}), 403)
