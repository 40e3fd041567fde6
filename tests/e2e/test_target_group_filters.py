"""Filters and sort of the target groups' list and of an import's row reports (issue 16, part 2):
each filter returns exactly the matching records, a plain user only the groups of the owners they
see, a combination no index serves is a 400 naming it, and another tenant sees none of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.e2e.helpers import assert_problem, created, new_tenant, ok, settle, walk

if TYPE_CHECKING:
    from infra.runtime import LocalRuntime
    from tests.e2e.conftest import Api


def ids(api: Api, path: str, **params: Any) -> list[str]:
    return [item["id"] for item in walk(api, path, limit=1, **params)]


@pytest.fixture(scope="module")
def groups(session_api: Api) -> dict[str, Any]:
    """Target groups of an admin, of a user group and of a plain user in that group."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    ulla = created(admin.post("/users", json={"email": "ulla@x.example.fi", "name": "Ulla", "groups": [sales]}))["id"]
    user = session_api.as_(tenant, ulla, "user", [sales])
    group = {"type": "group", "id": sales}
    g1 = created(admin.post("/target-groups", json={"name": "Alpha customers"}))["id"]
    g2 = created(admin.post("/target-groups", json={"name": "alpha leads", "owner": group}))["id"]
    g3 = created(user.post("/target-groups", json={"name": "Beta list"}))["id"]
    g4 = created(admin.post("/target-groups", json={"name": "Gamma", "public": True}))["id"]
    return {"admin": admin, "user": user, "ulla": ulla, "sales": sales, "groups": (g1, g2, g3, g4)}


def test_target_groups_by_name_prefix_and_owner(groups: dict[str, Any]) -> None:
    admin = groups["admin"]
    g1, g2, g3, g4 = groups["groups"]
    assert ids(admin, "/target-groups", name="ALPHA") == [g1, g2]  # "alpha customers" < "alpha leads"
    assert ids(admin, "/target-groups", name="alpha l") == [g2]
    assert ids(admin, "/target-groups", name="alpha", order="desc") == [g2, g1]
    assert ids(admin, "/target-groups", owner_id=groups["sales"]) == [g2]
    assert ids(admin, "/target-groups", owner_id=groups["ulla"]) == [g3]
    assert ids(admin, "/target-groups", owner_id="admin-1") == [g1, g4]
    assert ids(admin, "/target-groups", owner_id="admin-1", order="desc") == [g4, g1]
    assert ids(admin, "/target-groups", sort="name") == [g1, g2, g3, g4]
    assert ids(admin, "/target-groups", sort="name", order="desc") == [g4, g3, g2, g1]
    assert ids(admin, "/target-groups", sort="id", order="desc") == [g4, g3, g2, g1]
    page = ok(admin.get("/target-groups", params={"name": "alpha"}))["items"]
    assert "conditions" not in page[0] and page[0]["name"] == "Alpha customers"  # summaries, as unfiltered


def test_a_plain_user_filters_only_the_groups_of_owners_they_see(groups: dict[str, Any]) -> None:
    user = groups["user"]
    _, g2, g3, _ = groups["groups"]
    assert ids(user, "/target-groups") == [g2, g3]  # their own and their group's
    assert ids(user, "/target-groups", name="alpha") == [g2]
    assert ids(user, "/target-groups", sort="name", order="desc") == [g3, g2]
    assert ids(user, "/target-groups", owner_id=groups["sales"]) == [g2]
    assert ids(user, "/target-groups", owner_id="admin-1") == []


def test_a_target_group_filter_follows_renames_owners_and_deletes(groups: dict[str, Any]) -> None:
    admin = groups["admin"]
    made = created(admin.post("/target-groups", json={"name": "Zeta"}))["id"]
    assert ids(admin, "/target-groups", name="zeta") == [made]
    ok(admin.patch(f"/target-groups/{made}", json={"name": "Omega", "owner": {"type": "group", "id": groups["sales"]}}))
    assert ids(admin, "/target-groups", name="zeta") == []
    assert ids(admin, "/target-groups", name="omega") == [made]
    assert made in ids(groups["user"], "/target-groups", name="omega")  # now their group's
    assert admin.delete(f"/target-groups/{made}").status_code == 204
    assert ids(admin, "/target-groups", name="omega") == []
    assert ids(groups["user"], "/target-groups", name="omega") == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"name": "a", "owner_id": "admin-1"}, "owner_id"),
        ({"name": "a", "sort": "id"}, "sort"),
        ({"owner_id": "admin-1", "sort": "name"}, "sort"),
    ],
)
def test_a_combination_no_index_serves_is_a_400_naming_it(
    groups: dict[str, Any], params: dict[str, str], named: str
) -> None:
    body = assert_problem(groups["admin"].get("/target-groups", params=params), 400, f"query.{named}")
    assert body["errors"][0]["code"] == "unsupported_combination"
    assert_problem(groups["admin"].get("/target-groups", params={"kind": "x"}), 400, "query.kind")


def test_target_group_filters_see_only_the_callers_tenant(session_api: Api, groups: dict[str, Any]) -> None:
    other = session_api.as_(new_tenant(), "admin-1", "admin")
    assert ids(other, "/target-groups", name="alpha") == []
    assert ids(other, "/target-groups", owner_id="admin-1") == []
    assert ids(other, "/target-groups", sort="name") == []


MAPPING = {"Etunimi": "first_name", "Sukunimi": "last_name", "Sähköposti": "email"}


def test_import_rows_by_outcome(stack: LocalRuntime, groups: dict[str, Any], session_api: Api) -> None:
    admin = groups["admin"]
    job = created(admin.post("/imports", json={"kind": "contacts", "mapping": MAPPING}))
    upload = job["upload"]
    csv_bytes = (
        "Etunimi,Sukunimi,Sähköposti\nAnna,Aalto,anna@x.example\nBert,,not-an-address\nCara,Cedar,cara@x.example\n,,\n"
    ).encode()
    put = requests.request(upload["method"], upload["url"], data=csv_bytes, headers=upload["headers"], timeout=30)
    assert put.status_code == 200, put.text
    done = settle(stack, lambda: admin.get(f"/imports/{job['id']}").json()["status"] in ("completed", "failed"))
    assert done, admin.get(f"/imports/{job['id']}").text
    path = f"/imports/{job['id']}/rows"
    every = walk(admin, path, limit=1)
    rejected = [r["row"] for r in every if r["outcome"] == "rejected"]
    assert rejected and len(rejected) < len(every)
    assert [r["row"] for r in walk(admin, path, limit=1, outcome="rejected")] == rejected
    assert [r["row"] for r in walk(admin, path, limit=1, outcome="created")] == [
        r["row"] for r in every if r["outcome"] == "created"
    ]
    assert walk(admin, path, limit=1, outcome="updated") == []
    assert all(r["errors"] for r in walk(admin, path, limit=50, outcome="rejected"))
    assert_problem(admin.get(path, params={"outcome": "lost"}), 422, "query.outcome")
    other = session_api.as_(new_tenant(), "admin-1", "admin")
    assert_problem(other.get(path, params={"outcome": "rejected"}), 404)
