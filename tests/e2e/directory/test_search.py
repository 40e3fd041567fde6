"""`GET /search?q=`: the quick find across the tenant's accounts and contacts (issue 16, part 2):
ranked, paged with the kernel's cursor, tenant-isolated and within what the caller may see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import assert_problem, created, new_tenant, ok, walk

if TYPE_CHECKING:
    from tests.e2e.conftest import Api


@pytest.fixture(scope="module")
def found(session_api: Api) -> dict[str, Any]:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    ulla = created(admin.post("/users", json={"email": "ulla@x.example.fi", "name": "Ulla", "groups": [sales]}))["id"]
    user = session_api.as_(tenant, ulla, "user", [sales])
    contact = lambda body: created(admin.post("/contacts", json=body))  # noqa: E731
    made = {
        "exact_name": contact({"first_name": "Pia", "last_name": "Nord", "owner": {"type": "group", "id": sales}}),
        "prefix_name": created(admin.post("/accounts", json={"name": "Nordic Tools Oy"})),
        "email": contact({"first_name": "Eva", "last_name": "Berg", "email": "nord@shop.example"}),
        "longer_email": contact({"first_name": "Ola", "last_name": "Lind", "email": "nordqvist@shop.example"}),
        "phone": contact({"first_name": "Kai", "last_name": "Salo", "phone": "+358 40 123 4567"}),
        "longer_phone": contact({"first_name": "Sini", "last_name": "Salo", "mobile": "+358 40 123 45678"}),
    }
    other = session_api.as_(new_tenant(), "admin-1", "admin")
    created(other.post("/contacts", json={"first_name": "Nora", "last_name": "Nord", "email": "nord@else.example"}))
    return {"admin": admin, "user": user, "other": other, **{k: v["id"] for k, v in made.items()}, "made": made}


def hits(api: Api, q: str, limit: int = 1) -> list[tuple[str, str]]:
    return [(h["kind"], h["id"]) for h in walk(api, "/search", limit=limit, q=q)]


def test_exact_before_prefix_and_names_before_emails(found: dict[str, Any]) -> None:
    expected = [
        ("contact", found["exact_name"]),  # the name word "nord"
        ("account", found["prefix_name"]),  # "nordic"
        ("contact", found["email"]),  # "nord@shop.example"
        ("contact", found["longer_email"]),  # "nordqvist@..."
    ]
    assert hits(found["admin"], "Nord") == expected
    assert hits(found["admin"], "nord", limit=50) == expected  # the same in one page as one by one


def test_phone_digits_number_and_more_words(found: dict[str, Any]) -> None:
    admin, made = found["admin"], found["made"]
    assert hits(admin, "040 123 4567".replace("040", "+358 40")) == [
        ("contact", found["phone"]),
        ("contact", found["longer_phone"]),
    ]
    assert hits(admin, made["prefix_name"]["number"]) == [("account", found["prefix_name"])]
    assert hits(admin, "salo si") == [("contact", found["longer_phone"])]  # every word matches the record
    hit = ok(admin.get("/search", params={"q": "berg"}))["items"][0]
    assert hit == {
        "kind": "contact",
        "id": found["email"],
        "number": made["email"]["number"],
        "name": "Eva Berg",
        "email": "nord@shop.example",
        "phone": None,
        "version": 1,
    }


def test_tenant_isolation_and_what_a_plain_user_may_see(found: dict[str, Any]) -> None:
    assert [h["name"] for h in walk(found["other"], "/search", q="nord")] == ["Nora Nord"]
    assert hits(found["user"], "nord") == [("contact", found["exact_name"])]  # their group's only
    assert hits(found["user"], "salo") == []


def test_changes_reach_the_search_and_the_query_is_checked(found: dict[str, Any]) -> None:
    admin = found["admin"]
    contact = created(admin.post("/contacts", json={"first_name": "Tuuli", "last_name": "Zeta"}))
    assert hits(admin, "zeta") == [("contact", contact["id"])]
    ok(admin.patch(f"/contacts/{contact['id']}", json={"last_name": "Ypsilon"}))
    assert hits(admin, "zeta") == [] and hits(admin, "ypsi") == [("contact", contact["id"])]
    assert admin.delete(f"/contacts/{contact['id']}").status_code == 204
    assert hits(admin, "ypsi") == []
    assert_problem(admin.get("/search", params={"q": "a"}), 422, "query.q")
    assert_problem(admin.get("/search"), 422, "query.q")
    assert_problem(admin.get("/search", params={"q": "nord", "kind": "x"}), 400, "query.kind")
