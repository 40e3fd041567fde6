"""`GET /me`: the caller's own user record, role and groups (issue 16, part 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.e2e.helpers import assert_problem, created, new_tenant, ok

if TYPE_CHECKING:
    from tests.e2e.conftest import Api


def test_me_is_the_callers_own_user_with_role_and_groups(session_api: Api) -> None:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "boss", "admin")
    me = ok(admin.get("/me"))
    assert (me["id"], me["role"], me["tenant_id"], me["token_role"]) == ("boss", "admin", tenant, "admin")
    assert ok(admin.get("/users/boss"))["id"] == "boss"  # the token's user is in the tenant's directory
    sales = created(admin.post("/groups", json={"name": "Sales"}))["id"]
    made = created(admin.post("/users", json={"email": "ulla@x.example.fi", "name": "Ulla", "groups": [sales]}))
    user = session_api.as_(tenant, made["id"], "user", [sales])
    mine = ok(user.get("/me"))
    assert mine["id"] == made["id"] and mine["email"] == "ulla@x.example.fi" and mine["name"] == "Ulla"
    assert (mine["role"], mine["groups"], mine["token_groups"]) == ("user", [sales], [sales])
    assert_problem(user.get("/me", params={"x": "1"}), 400, "query.x")
    assert session_api.get("/me").status_code == 401


def test_the_demo_tokens_user_is_in_the_demo_directory(session_api: Api) -> None:
    demo = session_api.as_("demo", "demo-admin", "admin")
    assert ok(demo.get("/users/demo-admin"))["role"] == "admin"
    assert ok(demo.get("/me"))["id"] == "demo-admin"
