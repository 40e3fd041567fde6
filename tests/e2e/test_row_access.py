"""Row-level access on the paths besides the direct routes (issue 14, section 1): target-group
previews and members, CSV import, owner changes, account links. As a plain user of the tenant."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, created, new_tenant, settle, walk

if TYPE_CHECKING:
    from conftest import Api


@pytest.fixture(scope="module")
def office(session_api: Api) -> dict[str, Any]:
    """An admin's contacts and account, a group's contact, and a plain user in that group who owns one contact."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    made = created(admin.post("/users", json={"email": "ulla@x.example.fi", "name": "Ulla", "groups": [sales]}))
    user = session_api.as_(tenant, made["id"], "user", [sales])
    account = created(admin.post("/accounts", json={"name": "Hidden Oy", "business_id": "1234567-1"}))["id"]
    hidden = created(
        admin.post(
            "/contacts",
            json={"first_name": "Hidden", "email": "hidden@x.example.fi", "account_id": account},
        )
    )["id"]
    grouped = created(admin.post("/contacts", json={"first_name": "Grouped", "owner": {"type": "group", "id": sales}}))[
        "id"
    ]
    own = created(user.post("/contacts", json={"first_name": "Own", "email": "own@x.example.fi"}))["id"]
    return {
        "admin": admin,
        "user": user,
        "user_id": made["id"],
        "sales": sales,
        "account": account,
        "hidden": hidden,
        "grouped": grouped,
        "own": own,
    }


def test_preview_of_a_match_all_group_shows_only_what_the_user_sees(office: dict[str, Any]) -> None:
    user = office["user"]
    group = created(
        user.post(
            "/target-groups",
            json={"name": "All", "conditions": [{"field": "first_name", "op": "not_equals", "value": "zzz"}]},
        )
    )
    preview = user.get(f"/target-groups/{group['id']}/preview").json()
    assert {c["id"] for c in preview["sample"]} == {office["own"], office["grouped"]}
    assert preview["count"] == 2
    assert "hidden@x.example.fi" not in str(preview)


def test_a_hidden_contact_cannot_be_added_by_hand(office: dict[str, Any]) -> None:
    user, hidden = office["user"], office["hidden"]
    refused = user.post("/target-groups", json={"name": "Picked", "contact_ids": [office["own"], hidden]})
    assert_problem(refused, 422, "contact_ids.1")
    assert "Picked" not in {g["name"] for g in walk(user, "/target-groups", limit=50)}  # nothing half-made
    group_id = created(user.post("/target-groups", json={"name": "Picked"}))["id"]
    missing = user.post(f"/target-groups/{group_id}/members", json={"add": ["no-such-contact"]})
    answer = user.post(f"/target-groups/{group_id}/members", json={"add": [hidden]})
    assert_problem(answer, 422, "add.0")
    assert answer.status_code == missing.status_code
    assert answer.json()["errors"][0]["code"] == missing.json()["errors"][0]["code"] == "not_found"
    preview = user.get(f"/target-groups/{group_id}/preview").json()
    assert hidden not in {c["id"] for c in preview["sample"]}


def _import(stack: LocalRuntime, client: Api, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    mapping = {"Name": "first_name", "Email": "email"}
    job = created(client.post("/imports", json={"kind": "contacts", "mapping": mapping}))
    upload = job["upload"]
    put = requests.request(upload["method"], upload["url"], data=text.encode(), headers=upload["headers"], timeout=30)
    assert put.status_code == 200, put.text

    def done() -> dict[str, Any] | None:
        current = client.get(f"/imports/{job['id']}").json()
        return current if current["status"] in ("completed", "failed") else None

    finished = settle(stack, done)
    assert finished, client.get(f"/imports/{job['id']}").text
    return finished, walk(client, f"/imports/{job['id']}/rows", limit=50)


def test_csv_import_never_touches_or_reveals_a_hidden_contact(stack: LocalRuntime, office: dict[str, Any]) -> None:
    admin, user, hidden = office["admin"], office["user"], office["hidden"]
    before = admin.get(f"/contacts/{hidden}").json()
    job, rows = _import(stack, user, "Name,Email\nMallory,hidden@x.example.fi\nOwn again,own@x.example.fi\n")
    assert job["status"] == "completed", job
    after = admin.get(f"/contacts/{hidden}").json()
    assert after == before  # the admin's contact is unchanged
    assert hidden not in str(rows)
    by_row = {r["row"]: r for r in rows}
    assert by_row[1]["outcome"] == "created"  # to the user, the hidden address is simply not there
    assert by_row[2]["outcome"] == "updated" and by_row[2]["record_id"] == office["own"]


def test_only_the_owner_a_manager_or_an_admin_changes_the_owner(office: dict[str, Any]) -> None:
    admin, user, grouped = office["admin"], office["user"], office["grouped"]
    me = {"type": "user", "id": office["user_id"]}
    assert_problem(user.patch(f"/contacts/{grouped}", json={"owner": me}), 403)
    assert_problem(user.delete(f"/contacts/{grouped}"), 403)
    assert admin.get(f"/contacts/{grouped}").json()["owner"] == {"type": "group", "id": office["sales"]}
    # The group's members still change its other fields; the owner of a record gives it away.
    assert user.patch(f"/contacts/{grouped}", json={"department": "Field"}).status_code == 200
    own = created(user.post("/contacts", json={"first_name": "Mine"}))["id"]
    given = user.patch(f"/contacts/{own}", json={"owner": {"type": "group", "id": office["sales"]}})
    assert given.status_code == 200, given.text


def test_a_hidden_account_is_refused_like_a_missing_one(office: dict[str, Any]) -> None:
    user = office["user"]
    hidden = user.post("/contacts", json={"first_name": "Link", "account_id": office["account"]})
    missing = user.post("/contacts", json={"first_name": "Link", "account_id": "01NOSUCHACCOUNT0000000000"})
    assert_problem(hidden, 422, "account_id")
    assert hidden.status_code == missing.status_code

    def shape(response: requests.Response, account_id: str) -> dict[str, Any]:
        body = {k: v for k, v in response.json().items() if k not in ("correlation_id", "instance")}
        return json.loads(json.dumps(body).replace(account_id, "<id>"))

    assert shape(hidden, office["account"]) == shape(missing, "01NOSUCHACCOUNT0000000000")
    assert hidden.json()["errors"][0]["code"] == "not_found"
    patched = user.patch(f"/contacts/{office['own']}", json={"account_id": office["account"]})
    assert_problem(patched, 422, "account_id")


def test_a_users_mass_activity_reaches_only_the_contacts_they_see(stack: LocalRuntime, office: dict[str, Any]) -> None:
    admin, user = office["admin"], office["user"]
    group = created(  # the user's own group: an admin's group is one they may not see (an unknown group)
        user.post(
            "/target-groups",
            json={"name": "Everyone", "conditions": [{"field": "first_name", "op": "not_equals", "value": "zzz"}]},
        )
    )["id"]
    body = {
        "target_group_id": group,
        "activity": {"type": "call", "subject": "Call", "start_time": "09:00", "duration_minutes": 30},
        "owner": {"mode": "user", "user_id": office["user_id"]},
        "schedule": {"mode": "now", "time_zone": "Europe/Helsinki"},
    }
    mass = created(user.post("/mass-activities", json=body))

    def done() -> list[dict[str, Any]] | None:
        runs = user.get(f"/mass-activities/{mass['id']}/runs").json()["items"]
        return runs if runs and all(r["done"] for r in runs) else None

    runs = settle(stack, done)
    assert runs, user.get(f"/mass-activities/{mass['id']}/runs").text
    visible = {c["id"] for c in walk(user, "/contacts", limit=50)}
    assert runs[0]["total_members"] == len(visible)
    hidden_activities = walk(admin, "/activities", limit=50, contact_id=office["hidden"])
    assert [a for a in hidden_activities if a["source_id"] == mass["id"]] == []
