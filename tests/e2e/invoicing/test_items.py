"""The invoicing service through `kontakt dev`: items over HTTP, tenants apart, a contact's erasure."""

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, envelopes, settle, walk


def test_an_item_is_created_read_listed_and_deleted(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    created = admin.post("/invoicing/items", json={"name": "First", "description": "made by the skeleton"})
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["name"] == "First" and item["created_by"] == "admin-1"

    assert admin.get(f"/invoicing/items/{item['id']}").json() == item
    assert [i["id"] for i in walk(admin, "/invoicing/items")] == [item["id"]]
    assert [e["data"]["id"] for e in settle(stack, lambda: envelopes(stack, tenant, "invoicing_item.created"))] == [
        item["id"]
    ]

    assert admin.delete(f"/invoicing/items/{item['id']}").status_code == 204
    assert_problem(admin.get(f"/invoicing/items/{item['id']}"), 404)
    synced = admin.get("/invoicing/items", params={"updated_since": item["created_at"]}).json()
    assert synced["items"] == [] and [d["id"] for d in synced["deleted"]] == [item["id"]]  # its tombstone


def test_another_tenant_sees_no_item(api: Api, admin: Api) -> None:
    item = admin.post("/invoicing/items", json={"name": "Mine"}).json()
    stranger = api.as_("other-" + item["id"].lower()[:12], "admin-1", "admin")
    assert_problem(stranger.get(f"/invoicing/items/{item['id']}"), 404)
    assert_problem(stranger.delete(f"/invoicing/items/{item['id']}"), 404)
    assert stranger.get("/invoicing/items").json()["items"] == []


def test_bad_input_names_the_field(admin: Api) -> None:
    assert_problem(admin.post("/invoicing/items", json={"name": ""}), 422, "name")
    assert_problem(admin.post("/invoicing/items", json={"name": "x", "owner": "me"}), 422, "owner")
    assert_problem(admin.post("/invoicing/items", json=["not", "an", "object"]), 422)


def test_an_erased_contact_is_unlinked_from_its_items(stack: LocalRuntime, admin: Api) -> None:
    contact = admin.post("/contacts", json={"first_name": "Maija", "email": "maija@example.fi"}).json()
    item = admin.post("/invoicing/items", json={"name": "About Maija", "contact_id": contact["id"]}).json()
    assert item["contact_id"] == contact["id"]

    assert admin.post(f"/contacts/{contact['id']}/erase").status_code == 200
    unlinked = settle(stack, lambda: admin.get(f"/invoicing/items/{item['id']}").json()["contact_id"] is None)
    assert unlinked, "the consumer did not unlink the erased contact"
