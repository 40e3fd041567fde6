"""Sign-ins through `kontakt dev` as a client signs in (POST /dev/sign-in: the user pool's sign-in
triggers, a password that can be wrong) and the API an admin reads them with: the history, the
brute-force lock (the right password refused while locked), its lift, and the audit trail of sign-ins
and of the authorizer's refusals of a locked API key."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from infra.devlogins import DEV_PASSWORD
from infra.runtime import LocalRuntime
from services.access.domain.logins import USER_LIMIT
from tests.e2e.access.test_api_keys import _from
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, new_tenant, settle, walk

AGENT = "e2e-browser/1.0"


def _sign_in(stack: LocalRuntime, tenant: str, user: str, password: str, flow: str = "custom") -> requests.Response:
    return requests.post(
        f"{stack.gateway.url}/dev/sign-in",
        json={"tenant": tenant, "user": user, "password": password, "role": "user", "flow": flow},
        headers={"User-Agent": AGENT},
        timeout=60,
    )


@pytest.fixture(scope="module")
def burst(stack: LocalRuntime, session_api: Api) -> dict[str, Any]:
    """A user who signed in once, then failed USER_LIMIT times (locked), then tried the right password."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    answers = [_sign_in(stack, tenant, "user-1", DEV_PASSWORD)]
    answers += [_sign_in(stack, tenant, "user-1", "wrong") for _ in range(USER_LIMIT)]
    answers.append(_sign_in(stack, tenant, "user-1", DEV_PASSWORD))  # locked: refused all the same
    return {"tenant": tenant, "admin": admin, "answers": answers}


def test_a_burst_of_failures_locks_the_user_and_an_admin_lifts_it(
    stack: LocalRuntime, session_api: Api, burst: dict[str, Any]
) -> None:
    tenant, admin, answers = burst["tenant"], burst["admin"], burst["answers"]
    assert [a.status_code for a in answers] == [200] + [401] * USER_LIMIT + [401], [a.text for a in answers]
    assert "PreAuthentication failed" in answers[-1].json()["message"]  # refused before any password check
    user = Api(stack, answers[0].json()["token"])

    # The history: every attempt, newest first, with address and user agent (pages of 2 followed).
    history = walk(admin, "/logins", limit=2, user_id="user-1")
    assert [h["outcome"] for h in history] == ["refused"] + ["failed"] * USER_LIMIT + ["succeeded"]
    assert {(h["ip"], h["user_agent"], h["user_id"]) for h in history} == {("127.0.0.1", AGENT, "user-1")}
    assert [h["at"] for h in history] == sorted((h["at"] for h in history), reverse=True)
    assert [h["id"] for h in walk(user, "/logins", limit=50)] == [h["id"] for h in history]  # one's own
    assert_problem(user.get("/logins", params={"user_id": "admin-1"}), 403)  # not another's
    assert_problem(user.get("/login-locks"), 403)
    assert (
        session_api.as_(new_tenant(), "admin-1", "admin").get("/logins", params={"user_id": "user-1"}).json()["items"]
        == []
    )  # another tenant sees none

    locks = {lock["id"]: lock for lock in admin.get("/login-locks").json()["items"]}
    assert locks["user-user-1"]["locked"] and locks["user-user-1"]["locks"] == 1
    assert locks["ip-127-0-0-1"]["failures"] == USER_LIMIT and not locks["ip-127-0-0-1"]["locked"]
    assert_problem(admin.delete("/login-locks/user-nobody"), 404)
    assert_problem(session_api.as_(new_tenant(), "admin-1", "admin").delete("/login-locks/user-user-1"), 404)
    assert admin.delete("/login-locks/user-user-1").status_code == 204
    assert _sign_in(stack, tenant, "user-1", DEV_PASSWORD).status_code == 200
    assert "user-user-1" not in {lock["id"] for lock in admin.get("/login-locks").json()["items"]}

    # Each attempt, the lock and its lift are in the audit trail.
    def audited() -> list[str]:
        return [r["type"] for r in walk(admin, "/audit", limit=50, actor_id="user-1")]

    types = settle(stack, lambda: (t := audited()) and len(t) >= USER_LIMIT + 4 and t)
    assert sorted(types) == sorted(["login.succeeded"] * 2 + ["login.failed"] * (USER_LIMIT + 1) + ["login.locked"]), (
        types
    )
    lifted = walk(admin, "/audit", limit=50, entity_type="login", entity_id="user-user-1")
    assert [r["type"] for r in lifted] == ["login.unlocked", "login.locked"]


def test_wrong_passwords_lock_also_in_the_flows_no_trigger_sees_them(stack: LocalRuntime, session_api: Api) -> None:
    """USER_PASSWORD_AUTH (as USER_SRP_AUTH): Cognito runs only PreAuthentication, and
    PostAuthentication on a success; a sign-in counts from its start until it passes."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    answers = [_sign_in(stack, tenant, "user-2", password, "password") for password in [DEV_PASSWORD] * 2]
    answers += [_sign_in(stack, tenant, "user-2", "wrong", "password") for _ in range(USER_LIMIT)]
    answers.append(_sign_in(stack, tenant, "user-2", DEV_PASSWORD, "password"))
    assert [a.status_code for a in answers] == [200, 200] + [401] * (USER_LIMIT + 1), [a.text for a in answers]
    assert "PreAuthentication failed" in answers[-1].json()["message"]
    history = walk(admin, "/logins", limit=50, user_id="user-2")
    # Each wrong password is closed as failed when the next sign-in begins; successes took their count back.
    assert [h["outcome"] for h in history] == ["refused"] + ["failed"] * USER_LIMIT + ["succeeded"] * 2
    locks = {lock["id"]: lock for lock in admin.get("/login-locks").json()["items"]}
    assert locks["user-user-2"]["locked"] and locks["ip-127-0-0-1"]["failures"] == USER_LIMIT


def test_a_locked_keys_refusal_is_audited_once_a_minute(stack: LocalRuntime, session_api: Api) -> None:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    made = admin.post("/api-keys", json={"name": "Sync", "permissions": ["contacts:read"]}).json()
    assert admin.post(f"/api-keys/{made['id']}/lock").json()["status"] == "locked"
    key = Api(stack, made["secret"])
    for path in ("/contacts", "/accounts", "/contacts?limit=1"):  # the authorizer runs for the first only (cached)
        assert "locked" in assert_problem(key.get(path), 401)["detail"]
    for address in ("127.0.0.5", "127.0.0.6"):  # other addresses: the authorizer decides again, no event
        assert_problem(_from(Api(stack, made["secret"]), address).get("/contacts"), 401)

    def refusals() -> list[dict[str, Any]]:
        records = walk(admin, "/audit", limit=50, actor_id=made["id"])
        return [r for r in records if r["type"] == "access.refused"]

    found = settle(stack, refusals)
    assert [(r["entity_type"], r["entity_id"]) for r in found] == [("access", made["id"])]  # one a minute
    # The audit service refuses a key without the permission to read it, and records that straight
    # into the trail (it has no outbox): once a minute per key and reason, as every refusal.
    reader = Api(
        stack, admin.post("/api-keys", json={"name": "Nosy", "permissions": ["contacts:read"]}).json()["secret"]
    )
    nosy = admin.get("/api-keys").json()["items"][-1]["id"]
    for _ in range(3):
        assert "audit:read" in assert_problem(reader.get("/audit"), 403, "permissions")["detail"]
    records = walk(admin, "/audit", limit=50, actor_id=nosy)
    assert [(r["type"], r["entity_id"]) for r in records] == [("access.refused", nosy)]
