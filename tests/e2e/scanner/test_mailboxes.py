"""Mailboxes through `kontakt dev` (issue 21 item 3): admins write them, everyone reads them, an
address is one tenant's mailbox in the whole stack, other tenants' mailboxes do not exist."""

from __future__ import annotations

from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, walk
from tests.e2e.scanner.helpers import mailbox, new_address


def test_a_mailbox_is_created_read_changed_and_deleted(api: Api, admin: Api, tenant: str) -> None:
    address = new_address()
    box = mailbox(admin, address.upper(), owner={"type": "group", "id": "support"})
    assert box["address"] == address and box["active"] is True and box["owner"] == {"type": "group", "id": "support"}
    user = api.as_(tenant, "user-1", "user")
    assert user.get(f"/scanner/mailboxes/{box['id']}").json() == box
    assert [m["id"] for m in walk(user, "/scanner/mailboxes")] == [box["id"]]

    stale = f'"{box["version"]}"'
    changed = admin.patch(f"/scanner/mailboxes/{box['id']}", json={"name": "Laskutus"}, headers={"If-Match": stale})
    assert changed.status_code == 200 and changed.json()["name"] == "Laskutus"
    assert changed.headers["ETag"] == f'"{box["version"] + 1}"'
    refused = admin.patch(f"/scanner/mailboxes/{box['id']}", json={"active": False}, headers={"If-Match": stale})
    assert_problem(refused, 412)

    assert admin.delete(f"/scanner/mailboxes/{box['id']}").status_code == 204
    assert_problem(admin.get(f"/scanner/mailboxes/{box['id']}"), 404)
    again = mailbox(admin, address)  # a deleted mailbox's address is free again
    assert again["address"] == address


def test_only_admins_write_mailboxes(api: Api, admin: Api, tenant: str) -> None:
    box = mailbox(admin)
    for role in ("user", "manager"):
        other = api.as_(tenant, f"{role}-1", role)
        body = {"address": new_address(), "name": "x", "owner": {"type": "user", "id": "admin-1"}}
        assert_problem(other.post("/scanner/mailboxes", json=body), 403)
        assert_problem(other.patch(f"/scanner/mailboxes/{box['id']}", json={"name": "y"}), 403)
        assert_problem(other.delete(f"/scanner/mailboxes/{box['id']}"), 403)


def test_an_address_is_one_mailbox_in_the_whole_stack(api: Api, admin: Api) -> None:
    address = new_address()
    box = mailbox(admin, address)
    other_admin = api.as_("other-" + box["id"].lower()[:12], "admin-1", "admin")
    body = {"address": address, "name": "Kaappaus", "owner": {"type": "user", "id": "admin-1"}}
    problem = assert_problem(other_admin.post("/scanner/mailboxes", json=body), 422, "address")
    assert "duplicate" in str(problem)
    assert_problem(admin.post("/scanner/mailboxes", json=body | {"address": address.upper()}), 422, "address")
    second = mailbox(admin)
    assert_problem(admin.patch(f"/scanner/mailboxes/{second['id']}", json={"address": address}), 422, "address")
    moved = admin.patch(f"/scanner/mailboxes/{box['id']}", json={"address": new_address("uusi")})
    assert moved.status_code == 200
    assert mailbox(other_admin, address)["address"] == address  # the old address was given up


def test_another_tenant_sees_no_mailbox(api: Api, admin: Api) -> None:
    box = mailbox(admin)
    stranger = api.as_("other-" + box["id"].lower()[:12], "admin-1", "admin")
    assert_problem(stranger.get(f"/scanner/mailboxes/{box['id']}"), 404)
    assert_problem(stranger.patch(f"/scanner/mailboxes/{box['id']}", json={"name": "x"}), 404)
    assert_problem(stranger.delete(f"/scanner/mailboxes/{box['id']}"), 404)
    assert stranger.get("/scanner/mailboxes").json()["items"] == []
    rule = admin.post(f"/scanner/mailboxes/{box['id']}/rules", json={"name": "Oma"}).json()
    rules = f"/scanner/mailboxes/{box['id']}/rules"
    for answer in (  # every route under the mailbox, with this tenant's ids (the OpenAPI sweep has no rule of A's)
        stranger.get(rules),
        stranger.post(rules, json={"name": "x"}),
        stranger.get(f"{rules}/{rule['id']}"),
        stranger.patch(f"{rules}/{rule['id']}", json={"name": "x"}),
        stranger.delete(f"{rules}/{rule['id']}"),
        stranger.post(f"/scanner/mailboxes/{box['id']}/raw", json={"raw": "U3ViamVjdDogeA0KDQp4DQo="}),
    ):
        assert_problem(answer, 404)
    assert admin.get(f"{rules}/{rule['id']}").json() == rule  # unchanged


def test_bad_input_names_the_field(admin: Api) -> None:
    owner = {"type": "user", "id": "admin-1"}
    assert_problem(
        admin.post("/scanner/mailboxes", json={"address": "not an address", "name": "x", "owner": owner}),
        422,
        "address",
    )
    assert_problem(admin.post("/scanner/mailboxes", json={"address": new_address(), "name": "x"}), 422, "owner")
    assert_problem(
        admin.post(
            "/scanner/mailboxes", json={"address": new_address(), "name": "x", "owner": {"type": "team", "id": "a"}}
        ),
        422,
    )
    box = mailbox(admin)
    assert_problem(admin.patch(f"/scanner/mailboxes/{box['id']}", json={"active": None}), 422, "active")
