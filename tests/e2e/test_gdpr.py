"""GDPR: export of one person's data, and erasure (admin only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, envelopes, settle

if TYPE_CHECKING:
    from conftest import Api

PERSONAL = ("first_name", "last_name", "email", "phone", "mobile", "department", "consent_date", "job_title")


def test_export_and_erase(stack: LocalRuntime, api: Api, admin: Api, tenant: str) -> None:
    account = admin.post("/accounts", json={"name": "Acme"}).json()
    contact = admin.post(
        "/contacts",
        json={
            "first_name": "Maija",
            "last_name": "Meikäläinen",
            "email": "maija@example.fi",
            "phone": "+358 50 1",
            "department": "HR",
            "job_title": "manager",
            "consent_date": "2023-05-01",
            "account_id": account["id"],
        },
    ).json()
    other = admin.post("/contacts", json={"first_name": "Other", "region": "north"}).json()
    hand = admin.post("/target-groups", json={"name": "By hand", "contact_ids": [contact["id"], other["id"]]}).json()
    dynamic = admin.post(
        "/target-groups", json={"name": "Has email", "conditions": [{"field": "email", "op": "contains", "value": "@"}]}
    ).json()

    export = admin.get(f"/contacts/{contact['id']}/export")
    assert export.status_code == 200, export.text
    body = export.json()
    assert body["contact"]["email"] == "maija@example.fi"
    assert body["contact"]["first_name"] == "Maija"
    assert body["account"] == {"id": account["id"], "name": "Acme"}
    assert body["target_groups_added_to"] == [hand["id"]]
    assert admin.get(f"/target-groups/{dynamic['id']}/preview").json()["count"] == 1

    # Only an admin erases.
    user = api.as_(tenant, "admin-1", "user")
    assert_problem(user.post(f"/contacts/{contact['id']}/erase"), 403)
    assert admin.get(f"/contacts/{contact['id']}").json()["email"] == "maija@example.fi"

    erased = admin.post(f"/contacts/{contact['id']}/erase")
    assert erased.status_code == 200, erased.text
    got = admin.get(f"/contacts/{contact['id']}").json()
    assert got["erased"] is True and got["active"] is False
    for field in PERSONAL:
        assert got[field] is None, field
    assert got["number"] == contact["number"]
    assert got["account_id"] == account["id"]
    # An erased contact cannot be changed back.
    assert_problem(admin.patch(f"/contacts/{contact['id']}", json={"first_name": "Maija"}), 409)

    hand_preview = admin.get(f"/target-groups/{hand['id']}/preview").json()
    assert hand_preview["count"] == 1
    assert [c["id"] for c in hand_preview["sample"]] == [other["id"]]
    assert admin.get(f"/target-groups/{dynamic['id']}/preview").json()["count"] == 0

    events = settle(stack, lambda: envelopes(stack, tenant, "contact.erased"))
    assert [e["data"] for e in events] == [{"id": contact["id"]}]
    assert events[0]["actor"] == {"type": "user", "id": "admin-1"}
    assert "maija" not in str(events[0]).lower()
