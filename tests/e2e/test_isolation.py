"""Tenant isolation on every route that takes an id, and who sees what inside a tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import assert_problem, created, new_tenant, walk

if TYPE_CHECKING:
    from conftest import Api


@pytest.fixture(scope="module")
def tenant_a(session_api: Api) -> dict[str, Any]:
    """Tenant A with one record of every kind; tenant B, an admin of another tenant, with its own contact."""
    a = session_api.as_(new_tenant(), "admin-a", "admin")
    ids: dict[str, str] = {}
    ids["classification_type"] = created(a.post("/classification-types", json={"name": "Lists"}))["id"]
    ids["class"] = created(
        a.post("/classes", json={"name": "Spring", "classification_type_id": ids["classification_type"]})
    )["id"]
    ids["group"] = created(a.post("/groups", json={"name": "Sales"}))["id"]
    ids["user"] = created(
        a.post("/users", json={"email": "sam@a.example.fi", "name": "Sam", "groups": [ids["group"]]})
    )["id"]
    ids["account"] = created(a.post("/accounts", json={"name": "A Oy", "classes": [ids["class"]]}))["id"]
    ids["contact"] = created(
        a.post("/contacts", json={"first_name": "Aino", "email": "aino@a.example.fi", "account_id": ids["account"]})
    )["id"]
    ids["target_group"] = created(a.post("/target-groups", json={"name": "Mine", "contact_ids": [ids["contact"]]}))[
        "id"
    ]
    ids["import"] = created(a.post("/imports", json={"kind": "contacts", "mapping": {"Email": "email"}}))["id"]
    b = session_api.as_(new_tenant(), "admin-b", "admin")
    b_contact = created(b.post("/contacts", json={"first_name": "Bo"}))["id"]
    return {"a": a, "b": b, "ids": ids, "b_contact": b_contact, "snapshot": _snapshot(a, ids)}


READS = {
    "account": "/accounts/{account}",
    "contact": "/contacts/{contact}",
    "user": "/users/{user}",
    "group": "/groups/{group}",
    "class": "/classes/{class}",
    "classification_type": "/classification-types/{classification_type}",
    "target_group": "/target-groups/{target_group}",
    "import": "/imports/{import}",
    "export": "/contacts/{contact}/export",
    "preview": "/target-groups/{target_group}/preview",
    "rows": "/imports/{import}/rows",
    "account_contacts": "/contacts?account_id={account}",
}


def _snapshot(a: Api, ids: dict[str, str]) -> dict[str, Any]:
    result = {}
    for name, template in READS.items():
        response = a.get(template.format(**ids))
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        if name == "export":
            body.pop("exported_at")
        result[name] = body
    return result


# (method, path, body) of every directory route that takes an id.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/accounts/{account}", None),
    ("PATCH", "/accounts/{account}", {"name": "Taken over"}),
    ("DELETE", "/accounts/{account}", None),
    ("GET", "/contacts?account_id={account}", None),
    ("GET", "/contacts/{contact}", None),
    ("PATCH", "/contacts/{contact}", {"first_name": "Taken over"}),
    ("DELETE", "/contacts/{contact}", None),
    ("GET", "/contacts/{contact}/export", None),
    ("POST", "/contacts/{contact}/erase", None),
    ("GET", "/users/{user}", None),
    ("PATCH", "/users/{user}", {"name": "Taken over", "role": "admin"}),
    ("GET", "/groups/{group}", None),
    ("GET", "/classes/{class}", None),
    ("GET", "/classification-types/{classification_type}", None),
    ("GET", "/target-groups/{target_group}", None),
    ("PATCH", "/target-groups/{target_group}", {"name": "Taken over", "public": True}),
    ("DELETE", "/target-groups/{target_group}", None),
    ("POST", "/target-groups/{target_group}/members", {"remove": ["{contact}"]}),
    ("POST", "/target-groups/{target_group}/members", {"add": ["{b_contact}"]}),
    ("GET", "/target-groups/{target_group}/preview", None),
    ("GET", "/imports/{import}", None),
    ("GET", "/imports/{import}/rows", None),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_another_tenant_gets_404_and_changes_nothing(
    tenant_a: dict[str, Any], method: str, path: str, body: Any
) -> None:
    ids = tenant_a["ids"] | {"b_contact": tenant_a["b_contact"]}
    response = tenant_a["b"].request(method, _fill(path, ids), json=_fill(body, ids))
    assert_problem(response, 404)
    assert _snapshot(tenant_a["a"], tenant_a["ids"]) == tenant_a["snapshot"]


def test_another_tenants_lists_do_not_show_a_records(tenant_a: dict[str, Any]) -> None:
    b = tenant_a["b"]
    for path in ("/accounts", "/contacts", "/users", "/groups", "/classes", "/classification-types", "/target-groups"):
        items = b.get(path).json()["items"]
        assert not {i["id"] for i in items} & set(tenant_a["ids"].values()), path


# ----------------------------------------------------------------------------- within a tenant


@pytest.fixture(scope="module")
def team(session_api: Api) -> dict[str, Any]:
    """A tenant with a group of two users, an outsider, a manager of the group, and their contacts."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    other = created(admin.post("/groups", json={"name": "Support"}))["id"]

    def user(name: str, role: str, groups: list[str]) -> Api:
        made = created(
            admin.post("/users", json={"email": f"{name}@x.example.fi", "name": name, "role": role, "groups": groups})
        )
        return session_api.as_(tenant, made["id"], role, groups)

    clients = {
        "admin": admin,
        "u1": user("u1", "user", [sales]),
        "u2": user("u2", "user", [sales]),
        "u3": user("u3", "user", [other]),
        "manager": user("manager", "manager", [sales]),
    }
    contacts = {
        name: created(clients[name].post("/contacts", json={"first_name": name}))["id"]
        for name in ("u1", "u2", "u3", "admin")
    }
    contacts["sales"] = created(
        admin.post("/contacts", json={"first_name": "Sales", "owner": {"type": "group", "id": sales}})
    )["id"]
    contacts["support"] = created(
        admin.post("/contacts", json={"first_name": "Support", "owner": {"type": "group", "id": other}})
    )["id"]
    accounts = {name: created(clients[name].post("/accounts", json={"name": name}))["id"] for name in ("u1", "u3")}
    return {"clients": clients, "contacts": contacts, "accounts": accounts, "admin": admin}


VISIBLE = {
    "u1": {"u1", "sales"},
    "u2": {"u2", "sales"},
    "u3": {"u3", "support"},
    "manager": {"u1", "u2", "u3", "admin", "sales", "support"},  # admins and managers see everything
    "admin": {"u1", "u2", "u3", "admin", "sales", "support"},
}


@pytest.mark.parametrize("who", list(VISIBLE))
def test_each_role_sees_what_it_or_its_groups_own(team: dict[str, Any], who: str) -> None:
    client, contacts = team["clients"][who], team["contacts"]
    listed = {c["id"] for c in walk(client, "/contacts", limit=2)}
    assert listed == {contacts[name] for name in VISIBLE[who]}
    for name, contact_id in contacts.items():
        response = client.get(f"/contacts/{contact_id}")
        if name in VISIBLE[who]:
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 404)


def test_user_changes_group_records_but_deletes_only_own(team: dict[str, Any]) -> None:
    u1, contacts = team["clients"]["u1"], team["contacts"]
    assert u1.patch(f"/contacts/{contacts['sales']}", json={"department": "Field"}).status_code == 200
    assert_problem(u1.delete(f"/contacts/{contacts['sales']}"), 403)
    assert_problem(u1.patch(f"/contacts/{contacts['u2']}", json={"department": "x"}), 404)
    # Nobody hands a record to an owner outside their reach.
    given = u1.post("/contacts", json={"first_name": "Gift", "owner": {"type": "user", "id": "admin-1"}})
    assert_problem(given, 422, "owner")


def test_open_module_lets_everyone_see_but_not_change(session_api: Api) -> None:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    contact = created(admin.post("/contacts", json={"first_name": "Boss"}))["id"]
    account = created(admin.post("/accounts", json={"name": "Boss Oy"}))["id"]
    user = session_api.as_(tenant, "user-9", "user")
    assert user.get("/contacts").json()["items"] == []
    assert_problem(user.get(f"/contacts/{contact}"), 404)

    settings = admin.get("/settings").json() | {"open_modules": ["contacts"]}
    assert admin.put("/settings", json=settings).status_code == 200
    assert [c["id"] for c in user.get("/contacts").json()["items"]] == [contact]
    assert user.get(f"/contacts/{contact}").status_code == 200
    assert_problem(user.patch(f"/contacts/{contact}", json={"first_name": "Mine"}), 403)
    assert_problem(user.delete(f"/contacts/{contact}"), 403)
    # Accounts are not open.
    assert user.get("/accounts").json()["items"] == []
    assert_problem(user.get(f"/accounts/{account}"), 404)
    assert admin.get(f"/contacts/{contact}").json()["first_name"] == "Boss"
