"""`POST /contacts/batch` and `POST /accounts/batch` (issue 16, part 2): up to 100 creates and
updates, each in its own transaction, one result per item; an invalid item does not stop the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.helpers import assert_problem, created, new_tenant, ok

if TYPE_CHECKING:
    from tests.e2e.conftest import Api


def test_contact_batch_creates_and_updates_each_item_on_its_own(session_api: Api) -> None:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    existing = created(admin.post("/contacts", json={"first_name": "Old", "email": "old@x.fi"}))
    hidden = created(admin.post("/contacts", json={"first_name": "Hidden"}))
    items = [
        {"first_name": "New", "email": "new@x.fi"},
        {"first_name": "Bad", "email": "not an email"},
        {"id": existing["id"], "last_name": "Updated"},
        {"id": "nosuch", "last_name": "X"},
        {"last_name": "Also", "unknown_field": 1},
        {"id": 7, "last_name": "Bad id"},
        {"id": hidden["id"], "first_name": "Seen"},
    ]
    user = session_api.as_(tenant, created(admin.post("/users", json={"email": "u@x.fi", "name": "U"}))["id"], "user")
    results = ok(admin.post("/contacts/batch", json={"items": items}))["results"]
    statuses = [(r["index"], r["status"]) for r in results]
    assert statuses == [(0, 201), (1, 422), (2, 200), (3, 404), (4, 422), (5, 422), (6, 200)]
    assert results[0]["record"]["email"] == "new@x.fi" and results[0]["id"] == results[0]["record"]["id"]
    assert results[1]["problem"]["errors"][0]["field"] == "email" and results[1]["record"] is None
    assert results[4]["problem"]["errors"][0]["field"] == "unknown_field"
    assert results[5]["problem"]["errors"][0]["field"] == "id" and results[5]["id"] is None
    assert results[3]["problem"]["code"] == "not_found"
    assert ok(admin.get(f"/contacts/{existing['id']}"))["last_name"] == "Updated"
    assert ok(admin.get(f"/contacts/{results[0]['id']}"))["first_name"] == "New"
    assert [c["id"] for c in ok(admin.get("/contacts", params={"email": "new@x.fi"}))["items"]] == [results[0]["id"]]
    # a plain user's batch: a record they may not see is "not found", as on its own route
    mine = ok(
        user.post("/contacts/batch", json={"items": [{"id": hidden["id"], "first_name": "X"}, {"first_name": "Mine"}]})
    )
    assert [r["status"] for r in mine["results"]] == [404, 201]


def test_account_batch_and_its_limits(session_api: Api) -> None:
    admin = session_api.as_(new_tenant(), "admin-1", "admin")
    results = ok(
        admin.post("/accounts/batch", json={"items": [{"name": "A Oy"}, {"name": "B Oy", "status": "nosuch"}]})
    )["results"]
    assert [r["status"] for r in results] == [201, 422]
    assert results[1]["problem"]["errors"][0]["code"] == "unknown_code"
    assert [a["name"] for a in ok(admin.get("/accounts"))["items"]] == ["A Oy"]
    assert_problem(admin.post("/accounts/batch", json={"items": [{"name": "x"}] * 101}), 422, "items")
    assert_problem(admin.post("/accounts/batch", json={"items": []}), 422, "items")
