"""Directory events other services project: class.created, group.*, target_group.* with conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.runtime import LocalRuntime
from shared.conditions import matches
from tests.e2e.helpers import assert_problem, created, envelopes, settle

if TYPE_CHECKING:
    from conftest import Api


def _data(stack: LocalRuntime, tenant: str, event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in envelopes(stack, tenant, event_type)]


def _members(stack: LocalRuntime, tenant: str, group_id: str) -> list[list[str]]:
    """The member lists group.updated published for one group, oldest first."""
    return [d["member_ids"] for d in _data(stack, tenant, "group.updated") if d["id"] == group_id]


def test_classcreated(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    mailing = created(admin.post("/classification-types", json={"name": "Mailing list"}))["id"]
    spring = created(admin.post("/classes", json={"name": "Spring 2010", "classification_type_id": mailing}))
    loose = created(admin.post("/classes", json={"name": "Loose"}))
    assert_problem(admin.post("/classes", json={"name": "Bad", "classification_type_id": "nope"}), 422)

    settle(stack, lambda: len(_data(stack, tenant, "class.created")) >= 2)
    assert sorted(_data(stack, tenant, "class.created"), key=lambda d: d["name"]) == [
        {"id": loose["id"], "name": "Loose", "classification_type_id": None},
        {"id": spring["id"], "name": "Spring 2010", "classification_type_id": mailing},
    ]


def test_group_members_follow_users(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    support = created(admin.post("/groups", json={"name": "Support"}))["id"]

    def user(name: str, groups: list[str]) -> str:
        return created(admin.post("/users", json={"email": f"{name}@x.example.fi", "name": name, "groups": groups}))[
            "id"
        ]

    sam = user("sam", [sales])
    kim = user("kim", [sales, support])
    moved = admin.patch(f"/users/{sam}", json={"groups": [support]})
    assert moved.status_code == 200, moved.text
    renamed = admin.patch(f"/users/{kim}", json={"name": "Kim K"})  # no group change: no group event
    assert renamed.status_code == 200, renamed.text
    # An unknown group: 422 naming it, no user, no event.
    bad = {"email": "x@x.example.fi", "name": "X", "groups": [sales, "nope"]}
    assert_problem(admin.post("/users", json=bad), 422, "groups.1")
    assert_problem(admin.patch(f"/users/{kim}", json={"groups": ["nope"]}), 422, "groups.0")

    settle(stack, lambda: len(_data(stack, tenant, "group.updated")) >= 5)
    assert sorted(_data(stack, tenant, "group.created"), key=lambda d: d["name"]) == [
        {"id": sales, "name": "Sales", "member_ids": []},
        {"id": support, "name": "Support", "member_ids": []},
    ]
    updated = _data(stack, tenant, "group.updated")
    assert len(updated) == 5  # sam joins sales; kim joins both; sam leaves sales and joins support
    assert {d["name"] for d in updated if d["id"] == sales} == {"Sales"}
    assert sorted(_members(stack, tenant, sales)) == sorted([[sam], sorted([kim, sam]), [kim]])
    assert sorted(_members(stack, tenant, support)) == sorted([[kim], sorted([kim, sam])])
    # The caller's login is a directory user too (admin-1, made when its token was).
    assert {u["name"] for u in admin.get("/users").json()["items"]} == {"admin-1", "sam", "Kim K"}
    assert admin.get(f"/users/{kim}").json()["groups"] == [sales, support]


def test_target_group_events_carry_conditions(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    """A consumer evaluating the event's conditions over contacts finds the members the directory previews."""
    mailing = created(admin.post("/classification-types", json={"name": "Mailing list"}))["id"]
    spring = created(admin.post("/classes", json={"name": "Spring", "classification_type_id": mailing}))["id"]
    oulu = created(admin.post("/accounts", json={"name": "Oulu Oy", "city": "Oulu", "classes": [spring]}))
    contacts = [
        created(admin.post("/contacts", json=body))
        for body in (
            {"first_name": "Anna", "region": "north", "account_id": oulu["id"]},
            {"first_name": "Bert", "region": "south"},
            {"first_name": "Cara", "region": "east", "account_id": oulu["id"]},
            {"first_name": "Pia", "region": "north", "active": False},
        )
    ]
    conditions = [
        {"op": "equals", "field": "region", "value": "north"},
        {"op": "equals", "field": "account.city", "value": "oulu"},
    ]
    group = created(admin.post("/target-groups", json={"name": "North", "conditions": conditions, "match": "any"}))
    in_mailing = {"op": "in_classification_type", "value": mailing}
    patch = {"conditions": [in_mailing, {"op": "equals", "field": "region", "value": "east"}], "match": "all"}
    changed = admin.patch(f"/target-groups/{group['id']}", json=patch)
    assert changed.status_code == 200, changed.text

    settle(stack, lambda: _data(stack, tenant, "target_group.updated"))
    assert _data(stack, tenant, "target_group.created") == [
        {"id": group["id"], "name": "North", "conditions": group["conditions"], "match": "any"}
    ]
    assert group["conditions"] == conditions
    assert _data(stack, tenant, "target_group.updated") == [
        {"id": group["id"], "name": "North", "conditions": changed.json()["conditions"], "match": "all"}
    ]

    # The first version through the shared matcher, over the contacts as the API shows them.
    class_types = {spring: mailing}
    accounts = {oulu["id"]: oulu}
    first = _data(stack, tenant, "target_group.created")[0]

    def chosen(event: dict[str, Any]) -> set[str]:
        return {
            c["first_name"]
            for c in contacts
            if matches(event["conditions"], event["match"], c, accounts.get(c.get("account_id")), class_types)
        }

    assert chosen(first) == {"Anna", "Cara"}  # Pia is passive
    latest = _data(stack, tenant, "target_group.updated")[0]
    assert chosen(latest) == {"Cara"}
    preview = admin.get(f"/target-groups/{group['id']}/preview").json()
    assert {c["first_name"] for c in preview["sample"]} == chosen(latest)
