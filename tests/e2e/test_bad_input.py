"""What a client gets for bad input: problem+json answers naming the field, and nothing written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import assert_problem, new_tenant

if TYPE_CHECKING:
    from conftest import Api


@pytest.fixture(scope="module")
def two_tenants(session_api: Api) -> dict[str, Any]:
    """Tenant A and tenant B, each with two contacts and a cursor for its contact list."""
    result: dict[str, Any] = {}
    for name in ("a", "b"):
        client = session_api.as_(new_tenant(), "admin-1", "admin")
        contacts = [
            client.post("/contacts", json={"first_name": f"{name}{i}", "email": f"{name}{i}@example.fi"}).json()
            for i in range(2)
        ]
        page = client.get("/contacts", params={"limit": 1}).json()
        assert page["next_cursor"], page
        result[name] = {"api": client, "contacts": contacts, "cursor": page["next_cursor"]}
    return result


def _snapshot(client: Api) -> list[dict[str, Any]]:
    return client.get("/contacts", params={"limit": 200}).json()["items"]


def test_malformed_json_is_400_naming_the_body(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    before = _snapshot(client)
    for path, method in (("/contacts", "POST"), ("/accounts", "POST")):
        response = client.request(
            method, path, data='{"first_name": "x",', headers={"Content-Type": "application/json"}
        )
        body = assert_problem(response, 400, "body")
        assert body["code"] and isinstance(body["errors"], list)
    contact = two_tenants["a"]["contacts"][0]
    response = client.patch(
        f"/contacts/{contact['id']}", data="not json at all", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "body")
    assert _snapshot(client) == before


def test_json_nested_100000_deep_is_400_naming_the_body(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    deep = '{"first_name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post("/contacts", data=deep, headers={"Content-Type": "application/json"})
    assert assert_problem(response, 400, "body")["errors"][0]["code"] == "too_deep"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts", {"first_name": 5}, "first_name"),
        ("/contacts", {"first_name": "A", "active": "perhaps"}, "active"),
        ("/contacts", {"first_name": "A", "consent_date": "yesterday"}, "consent_date"),
        ("/contacts", {"first_name": "A", "groups": "vip"}, "groups"),
        ("/contacts", {"first_name": "A", "email": "not-an-email"}, "email"),
        ("/contacts", {"first_name": "A", "owner": {"type": "robot", "id": "x"}}, "owner.type"),
        ("/contacts", {"email": "a@example.fi"}, None),
        ("/accounts", {"name": ["Acme"]}, "name"),
        ("/accounts", {"name": "Acme", "country": "Finland"}, "country"),
        ("/accounts", {}, "name"),
        ("/target-groups", {"name": "x", "conditions": "all"}, "conditions"),
        ("/target-groups", {"name": "x", "public": "no way"}, "public"),
    ],
)
def test_wrong_types_are_422_naming_the_field(
    two_tenants: dict[str, Any], path: str, body: dict[str, Any], field: str | None
) -> None:
    client = two_tenants["a"]["api"]
    problem = assert_problem(client.post(path, json=body), 422, field)
    assert problem["code"] == "validation_failed"
    assert problem["errors"]


def test_unknown_fields_are_422_naming_them(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    before = _snapshot(client)
    assert_problem(client.post("/contacts", json={"first_name": "A", "shoe_size": 44}), 422, "shoe_size")
    assert_problem(client.post("/accounts", json={"name": "A", "tenant_id": "other"}), 422, "tenant_id")
    contact = two_tenants["a"]["contacts"][0]
    assert_problem(client.patch(f"/contacts/{contact['id']}", json={"number": "CON-1"}), 422, "number")
    assert_problem(client.patch(f"/contacts/{contact['id']}", json={"version": 7}), 422, "version")
    assert _snapshot(client) == before


def test_patch_type_errors_change_nothing(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    contact = two_tenants["a"]["contacts"][1]
    before = client.get(f"/contacts/{contact['id']}").json()
    assert_problem(client.patch(f"/contacts/{contact['id']}", json={"active": None}), 422, "active")
    assert_problem(client.patch(f"/contacts/{contact['id']}", json={"groups": None}), 422, "groups")
    assert_problem(client.patch(f"/contacts/{contact['id']}", json={"email": 12}), 422, "email")
    assert client.get(f"/contacts/{contact['id']}").json() == before


def test_oversize_body_is_413(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    before = _snapshot(client)
    huge = "x" * (256 * 1024 + 10)
    assert_problem(client.post("/contacts", json={"first_name": "A", "department": huge}), 413)
    # Too large and also invalid: still 413, not 422.
    assert_problem(client.post("/contacts", json={"first_name": huge}), 413)
    assert_problem(client.post("/contacts", data="{" + huge, headers={"Content-Type": "application/json"}), 413)
    assert _snapshot(client) == before


def test_bad_cursors_are_400_naming_the_cursor(two_tenants: dict[str, Any]) -> None:
    a, b = two_tenants["a"], two_tenants["b"]
    client = a["api"]
    body, mac = a["cursor"].split(".", 1)
    tampered_mac = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    tampered_body = ("e" if body[0] != "e" else "f") + body[1:]
    for cursor in ("garbage", "a.b", "", tampered_mac and f"{body}.{tampered_mac}", f"{tampered_body}.{mac}"):
        if not cursor:
            continue
        assert_problem(client.get("/contacts", params={"cursor": cursor}), 400, "query.cursor")
    # A cursor of tenant B's contacts, or of another list, is not valid for tenant A's contacts.
    assert_problem(client.get("/contacts", params={"cursor": b["cursor"]}), 400, "query.cursor")
    assert_problem(client.get("/accounts", params={"cursor": a["cursor"]}), 400, "query.cursor")
    assert_problem(client.get("/users", params={"cursor": a["cursor"]}), 400, "query.cursor")
    # The genuine cursor still works.
    following = client.get("/contacts", params={"cursor": a["cursor"], "limit": 1})
    assert following.status_code == 200, following.text
    assert following.json()["items"][0]["id"] in {c["id"] for c in a["contacts"]}


@pytest.mark.parametrize("limit", ["0", "1000", "-1", "201", "ten"])
def test_limits_out_of_range_are_422_naming_the_limit(two_tenants: dict[str, Any], limit: str) -> None:
    client = two_tenants["a"]["api"]
    for path in ("/contacts", "/accounts", "/target-groups"):
        assert_problem(client.get(path, params={"limit": limit}), 422, "query.limit")


def test_missing_or_bad_token_is_401(api: Api, two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    before = _snapshot(client)
    anonymous = api.anonymous()
    contact = two_tenants["a"]["contacts"][0]
    for method, path, body in (
        ("GET", "/contacts", None),
        ("POST", "/contacts", {"first_name": "Intruder"}),
        ("PATCH", f"/contacts/{contact['id']}", {"first_name": "Intruder"}),
        ("DELETE", f"/contacts/{contact['id']}", None),
    ):
        assert anonymous.request(method, path, json=body).status_code == 401
        forged = anonymous.request(method, path, json=body, headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401
    assert _snapshot(client) == before


def test_body_with_a_non_json_content_type_is_415(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    before = _snapshot(client)
    response = client.post("/contacts", data='{"first_name": "A"}', headers={"Content-Type": "text/plain"})
    assert_problem(response, 415)
    assert _snapshot(client) == before


def test_body_that_is_not_utf8_is_400(two_tenants: dict[str, Any]) -> None:
    client = two_tenants["a"]["api"]
    before = _snapshot(client)
    response = client.post("/contacts", data=b"j\x8a\x88\xff?", headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "body")
    assert _snapshot(client) == before
