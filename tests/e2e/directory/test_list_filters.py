"""List filters, sort and batch reads of the directory's lists, and the kernel's unknown-parameter
rule (issue 16, part 2): each filter returns exactly the matching records, also to a plain user
who sees only some of them, and follows the records' changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import assert_problem, created, new_tenant, ok, walk

if TYPE_CHECKING:
    from tests.e2e.conftest import Api


@pytest.fixture(scope="module")
def office(session_api: Api) -> dict[str, Any]:
    """Accounts and contacts of an admin, of a group and of a plain user in that group."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    ulla = created(admin.post("/users", json={"email": "Ulla@X.example.fi", "name": "Ulla Uusi", "groups": [sales]}))
    created(admin.post("/users", json={"email": "mia@x.example.fi", "name": "Mia Manager", "role": "manager"}))
    user = session_api.as_(tenant, ulla["id"], "user", [sales])
    k1 = created(admin.post("/classes", json={"name": "Key"}))["id"]
    k2 = created(admin.post("/classes", json={"name": "Small"}))["id"]
    group = {"type": "group", "id": sales}
    a1 = created(admin.post("/accounts", json={"name": "Acme Oy", "status": "active", "classes": [k1]}))
    a2 = created(admin.post("/accounts", json={"name": "Beta Ab", "status": "ceased"}))
    a3 = created(admin.post("/accounts", json={"name": "acme Trading", "status": "active", "owner": group}))
    contact = lambda body: created(admin.post("/contacts", json=body))["id"]  # noqa: E731
    c1 = contact(
        {
            "first_name": "Anna",
            "last_name": "Virtanen",
            "email": "anna.virtanen@acme.example",
            "phone": "+358 40 111 2222",
            "account_id": a1["id"],
            "classes": [k1],
        }
    )
    c2 = contact(
        {
            "first_name": "Mikko",
            "last_name": "Virtanen",
            "email": "MIKKO@acme.example",
            "mobile": "040 333",
            "account_id": a1["id"],
            "owner": group,
        }
    )
    c3 = created(
        user.post(
            "/contacts",
            json={"first_name": "Liisa", "last_name": "Nieminen", "email": "liisa@beta.example", "classes": [k1, k2]},
        )
    )["id"]
    c4 = contact({"first_name": "Anna", "last_name": "Korhonen", "email": "anna.k@beta.example"})
    return {
        "admin": admin,
        "user": user,
        "ulla": ulla["id"],
        "sales": sales,
        "k1": k1,
        "k2": k2,
        "accounts": (a1, a2, a3),
        "contacts": (c1, c2, c3, c4),
    }


def ids(api: Api, path: str, **params: Any) -> list[str]:
    """The ids of every item of a list, walked one item a page (the cursor through the filter)."""
    return [item["id"] for item in walk(api, path, limit=1, **params)]


def test_contacts_by_email_phone_account_owner_and_class(office: dict[str, Any]) -> None:
    admin = office["admin"]
    c1, c2, c3, c4 = office["contacts"]
    a1 = office["accounts"][0]
    assert ids(admin, "/contacts", email="Anna.Virtanen@ACME.example ") == [c1]
    assert ids(admin, "/contacts", email="mikko@acme.example") == [c2]
    assert ids(admin, "/contacts", email="nobody@acme.example") == []
    assert ids(admin, "/contacts", phone="+358401112222") == [c1]
    assert ids(admin, "/contacts", phone="040333") == [c2]  # the mobile, digits compared
    assert ids(admin, "/contacts", account_id=a1["id"]) == sorted([c1, c2])
    assert ids(admin, "/contacts", owner_id=office["sales"]) == [c2]
    assert ids(admin, "/contacts", owner_id=office["ulla"]) == [c3]
    assert ids(admin, "/contacts", class_id=office["k1"]) == sorted([c1, c3])
    assert ids(admin, "/contacts", class_id=office["k2"]) == [c3]
    assert ids(admin, "/contacts", class_id=office["k1"], order="desc") == sorted([c1, c3], reverse=True)
    assert set(ids(admin, "/contacts")) == {c1, c2, c3, c4}


def test_contacts_by_name_prefix_in_name_order(office: dict[str, Any]) -> None:
    admin = office["admin"]
    c1, c2, c3, c4 = office["contacts"]
    assert ids(admin, "/contacts", name="virt") == [c1, c2]  # "virtanen anna", "virtanen mikko"
    assert ids(admin, "/contacts", name="VIRTANEN m") == [c2]
    assert ids(admin, "/contacts", name="virt", order="desc") == [c2, c1]
    assert ids(admin, "/contacts", name="anna") == []  # the start of "last first"
    assert ids(admin, "/contacts", sort="name") == [c4, c3, c1, c2]
    assert ids(admin, "/contacts", sort="name", order="desc") == [c2, c1, c3, c4]
    assert ids(admin, "/contacts", sort="id", order="desc") == sorted([c1, c2, c3, c4], reverse=True)


def test_accounts_by_name_status_number_owner(office: dict[str, Any]) -> None:
    admin = office["admin"]
    a1, a2, a3 = office["accounts"]
    assert ids(admin, "/accounts", name="ACME") == [a1["id"], a3["id"]]  # "acme oy" < "acme trading"
    assert ids(admin, "/accounts", name="acme t") == [a3["id"]]
    assert ids(admin, "/accounts", status="ceased") == [a2["id"]]
    assert ids(admin, "/accounts", status="active") == sorted([a1["id"], a3["id"]])
    assert ids(admin, "/accounts", number=a2["number"]) == [a2["id"]]
    assert ids(admin, "/accounts", owner_id=office["sales"]) == [a3["id"]]
    assert ids(admin, "/accounts", class_id=office["k1"]) == [a1["id"]]
    assert ids(admin, "/accounts", sort="name", order="desc") == [a2["id"], a3["id"], a1["id"]]


def test_users_by_email_role_group_and_name(office: dict[str, Any]) -> None:
    admin = office["admin"]
    assert ids(admin, "/users", email="ulla@x.example.fi") == [office["ulla"]]
    assert [u["name"] for u in walk(admin, "/users", role="manager")] == ["Mia Manager"]
    assert ids(admin, "/users", group_id=office["sales"]) == [office["ulla"]]
    assert [u["name"] for u in walk(admin, "/users", sort="name")] == ["admin-1", "Mia Manager", "Ulla Uusi"]
    assert [u["name"] for u in walk(admin, "/users", name="u")] == ["Ulla Uusi"]


def test_classes_groups_and_types_by_name_and_type(session_api: Api) -> None:
    admin = session_api.as_(new_tenant(), "admin-1", "admin")
    size = created(admin.post("/classification-types", json={"name": "Size"}))["id"]
    line = created(admin.post("/classification-types", json={"name": "Line of business"}))["id"]
    small = created(admin.post("/classes", json={"name": "Small", "classification_type_id": size}))["id"]
    large = created(admin.post("/classes", json={"name": "Large", "classification_type_id": size}))["id"]
    retail = created(admin.post("/classes", json={"name": "Retail", "classification_type_id": line}))["id"]
    assert ids(admin, "/classes", classification_type_id=size) == sorted([small, large])
    assert ids(admin, "/classes", sort="name") == [large, retail, small]
    assert ids(admin, "/classes", name="re") == [retail]
    assert ids(admin, "/classification-types", sort="name", order="desc") == [size, line]
    support = created(admin.post("/groups", json={"name": "Support"}))["id"]
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    assert ids(admin, "/groups", name="s") == [sales, support]
    assert_problem(admin.get("/classes", params={"classification_type_id": size, "name": "s"}), 400, "query.name")


def test_a_plain_user_finds_only_what_they_may_see(office: dict[str, Any]) -> None:
    user = office["user"]
    c1, c2, c3, _ = office["contacts"]
    a3 = office["accounts"][2]
    assert ids(user, "/contacts", sort="name") == [c3, c2]  # their own and their group's
    assert ids(user, "/contacts", name="virtanen") == [c2]
    assert ids(user, "/contacts", email="anna.virtanen@acme.example") == []
    assert ids(user, "/contacts", class_id=office["k1"]) == [c3]
    assert ids(user, "/contacts", owner_id="admin-1") == []
    assert ids(user, "/contacts", order="desc") == sorted([c2, c3], reverse=True)
    assert ids(user, "/accounts", name="acme") == [a3["id"]]
    body = ok(user.get("/contacts", params={"ids": f"{c1},{c2},{c3},nosuch"}))
    assert [c["id"] for c in body["items"]] == [c2, c3] and body["next_cursor"] is None


def test_batch_read_by_ids_in_the_order_asked_absent_ones_left_out(office: dict[str, Any]) -> None:
    admin = office["admin"]
    c1, c2, c3, c4 = office["contacts"]
    a1, a2, _ = office["accounts"]
    body = ok(admin.get("/contacts", params={"ids": f"{c3},nosuch,{c1}"}))
    assert [c["id"] for c in body["items"]] == [c3, c1]
    repeated = ok(admin.get("/contacts", params=[("ids", c4), ("ids", c2)]))
    assert [c["id"] for c in repeated["items"]] == [c4, c2]
    assert [a["id"] for a in ok(admin.get("/accounts", params={"ids": f"{a2['id']},{a1['id']}"}))["items"]] == [
        a2["id"],
        a1["id"],
    ]
    assert_problem(admin.get("/contacts", params={"ids": ",".join(["x"] * 101)}), 422, "query.ids")
    assert_problem(admin.get("/contacts", params={"ids": c1, "email": "x@y.fi"}), 400, "query.email")


def test_unknown_and_unsupported_parameters_are_400_naming_them(office: dict[str, Any]) -> None:
    admin = office["admin"]
    assert_problem(admin.get("/contacts", params={"emial": "anna.virtanen@acme.example"}), 400, "query.emial")
    assert_problem(admin.get("/accounts/" + office["accounts"][0]["id"], params={"x": "1"}), 400, "query.x")
    assert_problem(admin.get("/contacts", params={"email": "a@b.fi", "phone": "0401"}), 400, "query.phone")
    assert_problem(admin.get("/contacts", params={"email": "a@b.fi", "sort": "name"}), 400, "query.sort")
    assert_problem(admin.get("/contacts", params={"name": "virt", "sort": "id"}), 400, "query.sort")
    assert_problem(admin.get("/accounts", params={"status": "active", "name": "acme"}), 400, "query.status")
    assert_problem(admin.get("/contacts", params={"sort": "email"}), 422, "query.sort")
    assert_problem(admin.get("/groups", params={"email": "x@y.fi"}), 400, "query.email")


def test_filters_follow_changes_and_deletes(session_api: Api) -> None:
    admin = session_api.as_(new_tenant(), "admin-1", "admin")
    contact = created(admin.post("/contacts", json={"first_name": "Eero", "last_name": "Aalto", "email": "e@a.fi"}))
    ok(admin.patch(f"/contacts/{contact['id']}", json={"email": "eero@b.fi", "last_name": "Berg\U0001f642"}))
    assert ids(admin, "/contacts", email="e@a.fi") == []
    found = walk(admin, "/contacts", email="eero@b.fi")
    assert [(c["id"], c["last_name"], c["version"]) for c in found] == [(contact["id"], "Berg\U0001f642", 2)]
    assert ids(admin, "/contacts", name="aalto") == [] and ids(admin, "/contacts", name="berg") == [contact["id"]]
    assert ids(admin, "/contacts", name="berg\U0001f642") == [contact["id"]]  # a character beyond U+FFFF
    assert [h["id"] for h in walk(admin, "/search", q="berg")] == [contact["id"]]
    assert admin.delete(f"/contacts/{contact['id']}").status_code == 204
    assert ids(admin, "/contacts", name="berg") == [] and ids(admin, "/contacts", email="eero@b.fi") == []
