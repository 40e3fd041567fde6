"""API keys through `kontakt dev` as a client uses them: the HTTP API's Lambda authorizer (template.yaml,
run by the local gateway with its cache) accepts a key as `Authorization: Bearer <key>`, the kernel
checks its permissions per route; lock, unlock, revoke, expiry and the IP allow-list refuse it. The
tenant's IP rules refuse users and keys alike from other addresses."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, envelopes, new_tenant, settle


def refused_by(stack: LocalRuntime, tenant: str) -> list[dict[str, Any]]:
    """The `access.refused` events of a tenant on the bus (the audit trail records each): their
    source (the service that refused) and payload, oldest first."""
    return [
        {"source": event["source"], "data": event["detail"]["data"]}
        for event in reversed(stack.events(None))
        if event.get("detail-type") == "access.refused" and event["detail"].get("tenant_id") == tenant
    ]


def _as_key(stack: LocalRuntime, secret: str) -> Api:
    return Api(stack, secret)


def _eventually(stack: LocalRuntime, answer: Callable[[], requests.Response], status: int) -> requests.Response:
    """The answer once it has `status`: a key's change reaches the authorizer's cached decision
    within its TTL (the template's `authorizerResultTtlInSeconds`), not at once."""
    ttl = max(a.ttl_seconds for a in stack.stack.authorizers.values())
    deadline = time.monotonic() + ttl + 5
    response = answer()
    while response.status_code != status and time.monotonic() < deadline:
        time.sleep(0.5)
        response = answer()
    return response


@pytest.fixture(scope="module")
def keys(session_api: Api) -> dict[str, Any]:
    """A tenant with its admin and a key that reads contacts."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    created = admin.post("/api-keys", json={"name": "Reader", "permissions": ["contacts:read"]})
    assert created.status_code == 201, created.text
    return {"tenant": tenant, "admin": admin, "reader": created.json()}


def test_a_key_does_what_its_permissions_say(stack: LocalRuntime, keys: dict[str, Any]) -> None:
    admin, reader = keys["admin"], keys["reader"]
    secret = reader["secret"]
    assert secret.startswith(reader["prefix"] + ".") and reader["status"] == "active" and reader["role"] == "user"
    key = _as_key(stack, secret)

    assert key.get("/contacts").status_code == 200
    refused = assert_problem(key.post("/contacts", json={"first_name": "Never"}), 403, "permissions")
    assert "contacts:write" in refused["detail"] and refused["errors"][0]["message"] == "contacts:write"
    assert admin.get("/contacts").json()["items"] == []  # nothing was written
    assert_problem(key.get("/api-keys"), 403)  # keys do not manage keys

    # The secret is shown once: never again, nor its hash, in a read or a list.
    shown = admin.get(f"/api-keys/{reader['id']}")
    listed = admin.get("/api-keys")
    for answer in (shown, listed):
        assert answer.status_code == 200 and secret.rsplit(".", 1)[1] not in answer.text
        assert "secret" not in answer.text and "hash" not in answer.text
    used = shown.json()
    assert used["last_used_ip"] == "127.0.0.1" and used["last_used_at"]
    assert [k["id"] for k in listed.json()["items"]] == [reader["id"]]

    # A writing key acts as a service user of its tenant: what it creates is its own.
    writer = admin.post("/api-keys", json={"name": "Writer", "permissions": ["contacts:write", "GET /contacts/*"]})
    writing = _as_key(stack, writer.json()["secret"])
    contact = writing.post("/contacts", json={"first_name": "Keyed"})
    assert contact.status_code == 201, contact.text
    assert contact.json()["owner"]["id"] == writer.json()["id"]
    assert writing.get(f"/contacts/{contact.json()['id']}").status_code == 200  # the route pattern
    assert_problem(writing.get("/contacts"), 403, "permissions")  # `GET /contacts/*` is not `/contacts`

    created = settle(stack, lambda: envelopes(stack, keys["tenant"], "api_key.created"))
    assert {e["data"]["id"] for e in created} >= {reader["id"], writer.json()["id"]}
    assert all("secret" not in str(e) for e in created)

    # Each refusal for want of a permission is in the audit trail, once a minute per key and reason,
    # published by the service that refused it (the kernel's check in every service's API).
    def noted() -> set[tuple[str, str, int, str]]:
        return {
            (r["data"]["key_id"], r["source"], r["data"]["status"], r["data"]["reason"])
            for r in refused_by(stack, keys["tenant"])
        }

    reasons = settle(stack, lambda: len(found := noted()) >= 3 and found)
    assert {(key, source) for key, source, status, reason in reasons if "contacts:" in reason} == {
        (reader["id"], "kontakt.directory"),  # POST /contacts: no contacts:write
        (writer.json()["id"], "kontakt.directory"),  # GET /contacts: no contacts:read
    }
    assert (reader["id"], "kontakt.access", 403) in {r[:3] for r in reasons}  # keys do not manage keys


def test_bad_keys_and_permissions_are_refused(stack: LocalRuntime, keys: dict[str, Any], api: Api) -> None:
    admin = keys["admin"]
    bad = {"name": "Bad", "permissions": ["contacts:read", "contacts:fly", "GET /nowhere/*", "api-keys:read"]}
    problem = assert_problem(admin.post("/api-keys", json=bad), 422, "permissions.1")
    assert {e["field"] for e in problem["errors"]} == {"permissions.1", "permissions.2", "permissions.3"}
    assert_problem(admin.post("/api-keys", json={**bad, "permissions": []}), 422, "permissions")
    naive = {"name": "Bad", "permissions": ["contacts:read"], "expires_at": "2030-01-01T00:00:00"}
    assert_problem(admin.post("/api-keys", json=naive), 422, "expires_at")  # a time needs its offset
    wrong_ip = {"name": "Bad", "permissions": ["contacts:read"], "allowed_ips": ["10.0.0.0/8", "300.1.2.3"]}
    assert_problem(admin.post("/api-keys", json=wrong_ip), 422, "allowed_ips.1")
    assert admin.get("/api-keys").json()["items"][0]["name"] != "Bad"

    # Not a key of any tenant, or a key's prefix with another secret: a 401 problem.
    for secret in ("kk.nobody.key_x.secret", keys["reader"]["prefix"] + ".not-the-secret"):
        assert_problem(_as_key(stack, secret).get("/contacts"), 401)
    # Only admins manage keys; another tenant's key is not found.
    user = api.as_(keys["tenant"], "user-1", "user")
    assert_problem(user.get("/api-keys"), 403)
    assert_problem(user.post("/api-keys", json={"name": "Mine", "permissions": ["contacts:read"]}), 403)
    stranger = api.as_(new_tenant(), "admin-1", "admin")
    assert_problem(stranger.get(f"/api-keys/{keys['reader']['id']}"), 404)
    assert_problem(stranger.post(f"/api-keys/{keys['reader']['id']}/revoke"), 404)


def test_expired_keys_and_foreign_ips_are_refused(stack: LocalRuntime, keys: dict[str, Any]) -> None:
    admin = keys["admin"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = admin.post("/api-keys", json={"name": "Old", "permissions": ["contacts:read"], "expires_at": past})
    assert "expired" in assert_problem(_as_key(stack, expired.json()["secret"]).get("/contacts"), 401)["detail"]

    elsewhere = {"name": "Office", "permissions": ["contacts:read"], "allowed_ips": ["203.0.113.0/24", "2001:db8::/32"]}
    office = admin.post("/api-keys", json=elsewhere).json()
    assert office["allowed_ips"] == ["203.0.113.0/24", "2001:db8::/32"]
    assert_problem(_as_key(stack, office["secret"]).get("/contacts"), 403)
    here = {"name": "Here", "permissions": ["contacts:read"], "allowed_ips": ["::1", "127.0.0.0/8"]}
    local = admin.post("/api-keys", json=here).json()
    assert local["allowed_ips"] == ["::1/128", "127.0.0.0/8"]
    assert _as_key(stack, local["secret"]).get("/contacts").status_code == 200
    # Both refusals are in the audit trail.
    wanted = {expired.json()["id"]: 401, office["id"]: 403}
    found = settle(stack, lambda: {r["data"]["key_id"]: r["data"]["status"] for r in refused_by(stack, keys["tenant"])})
    assert {key: status for key, status in found.items() if key in wanted} == wanted


def test_lock_unlock_and_revoke_take_effect(stack: LocalRuntime, keys: dict[str, Any]) -> None:
    admin = keys["admin"]
    made = admin.post("/api-keys", json={"name": "Switch", "permissions": ["contacts:read"]}).json()
    key = _as_key(stack, made["secret"])
    changed = admin.patch(f"/api-keys/{made['id']}", json={"name": "Switched", "permissions": ["accounts:read"]})
    assert changed.status_code == 200 and changed.json()["permissions"] == ["accounts:read"], changed.text
    assert_problem(admin.patch(f"/api-keys/{made['id']}", json={"permissions": ["accounts:fly"]}), 422, "permissions.0")
    assert admin.post(f"/api-keys/{made['id']}/lock").json()["status"] == "locked"
    assert "locked" in assert_problem(key.get("/contacts"), 401)["detail"]  # never used: nothing cached

    assert admin.post(f"/api-keys/{made['id']}/unlock").json()["status"] == "active"
    # From another address: another identity for the authorizer's cache (the first one's refusal
    # stays cached for its TTL), answered at once.
    elsewhere = _from(_as_key(stack, made["secret"]), "127.0.0.4")
    assert elsewhere.get("/accounts").status_code == 200
    assert_problem(elsewhere.get("/contacts"), 403, "permissions")  # its permissions as changed

    # Revoked while its acceptance is cached: refused once the cached answer expires (seconds).
    assert admin.post(f"/api-keys/{made['id']}/revoke").json()["status"] == "revoked"
    assert_problem(_eventually(stack, lambda: elsewhere.get("/accounts"), 401), 401)
    assert_problem(admin.post(f"/api-keys/{made['id']}/unlock"), 409)  # revoked for good
    types = [e["type"] for e in settle(stack, lambda: envelopes(stack, keys["tenant"], "api_key.revoked"))]
    assert types == ["api_key.revoked"]
    changes = [e for e in envelopes(stack, keys["tenant"]) if e["data"].get("id") == made["id"]]
    assert [e["type"] for e in changes if e["type"].startswith("api_key.")] == [
        "api_key.created",
        "api_key.updated",
        "api_key.locked",
        "api_key.unlocked",
        "api_key.revoked",
    ]
    # The audit trail's old -> new: what the PATCH changed and each status step, never the hash.
    audited = {e["type"]: e.get("changes") for e in changes if e["type"].startswith("api_key.")}
    assert audited["api_key.updated"] == [
        {"field": "name", "old": "Switch", "new": "Switched"},
        {"field": "permissions", "old": ["contacts:read"], "new": ["accounts:read"]},
    ]
    assert audited["api_key.locked"] == [{"field": "status", "old": "active", "new": "locked"}]
    assert audited["api_key.revoked"] == [{"field": "status", "old": "active", "new": "revoked"}]
    assert "secret_hash" not in str(changes) and made["secret"] not in str(changes)
    # Each refusal's reason once (the authorizer notes one a minute per key and reason).
    refusals = [e["data"]["reason"] for e in changes if e["type"] == "access.refused"]
    assert sorted(refusals) == [
        "The API key is locked.",
        "The API key is revoked.",
        "This API key lacks the permission contacts:read (or one naming GET /contacts).",  # after the PATCH
    ]


class _FromAddress(HTTPAdapter):
    """Connections from another loopback address (Linux routes all of 127.0.0.0/8 to lo): the
    gateway sees it as the caller's source IP."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _from(api: Api, address: str) -> Api:
    api.session.mount("http://", _FromAddress(address))
    return api


def test_the_tenants_ip_rules_refuse_users_and_keys_elsewhere(stack: LocalRuntime, api: Api) -> None:
    tenant = new_tenant()
    office = _from(api.as_(tenant, "admin-1", "admin"), "127.0.0.2")  # the admin, from the office's address
    home = api.as_(tenant, "user-1", "user")  # a user, from 127.0.0.1
    made = office.post("/api-keys", json={"name": "Sync", "permissions": ["contacts:read"]}).json()
    key = _as_key(stack, made["secret"])

    # An admin cannot lock themselves out; nothing is saved.
    assert_problem(office.put("/ip-rules", json={"allow": ["203.0.113.0/24"]}), 422, "allow")
    assert_problem(office.put("/ip-rules", json={"allow": ["127.0.0.0/8"], "deny": ["127.0.0.2"]}), 422, "deny")
    assert_problem(office.put("/ip-rules", json={"allow": ["127.0.0.300"]}), 422, "allow.0")
    assert office.get("/ip-rules").json() == {"allow": [], "deny": []}
    assert_problem(home.get("/ip-rules"), 403)  # admins only

    rules = {"allow": ["127.0.0.2", "2001:db8::/32"], "deny": ["127.0.0.3/32"]}
    saved = office.put("/ip-rules", json=rules)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"allow": ["127.0.0.2/32", "2001:db8::/32"], "deny": ["127.0.0.3/32"]}
    refused = assert_problem(_eventually(stack, lambda: home.get("/contacts"), 403), 403)
    assert "IP rules" in refused["detail"]
    assert_problem(_eventually(stack, lambda: key.get("/contacts"), 403), 403)
    assert office.get("/contacts").status_code == 200
    assert _from(_as_key(stack, made["secret"]), "127.0.0.2").get("/contacts").status_code == 200
    assert_problem(_from(api.as_(tenant, "user-1", "user"), "127.0.0.3").get("/contacts"), 403)  # denied
    noted = settle(stack, lambda: {(r["data"]["key_id"], r["data"]["ip"]) for r in refused_by(stack, tenant)})
    assert {(made["id"], "127.0.0.1"), (None, "127.0.0.1"), (None, "127.0.0.3")} <= noted  # each in the trail
    assert api.as_(new_tenant(), "admin-1", "admin").get("/contacts").status_code == 200  # other tenants: no rules
