"""Webhook endpoints and event types through `kontakt dev` (issue 20, items 1-2; delivery is tested elsewhere)."""

import base64
import json
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, envelopes, put_stored, settle, stored_data, table_name, walk

URL = "https://hooks.example.com/kontakt"
HEADER_TOKEN = "header-token-of-the-receiver"  # a custom header's value: in no event


def _secret_bytes(secret: str) -> int:
    assert secret.startswith("whsec_"), secret
    return len(base64.b64decode(secret.removeprefix("whsec_"), validate=True))


def test_an_endpoint_is_created_read_listed_changed_and_deleted(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    created = admin.post(
        "/webhooks/endpoints",
        json={
            "url": URL,
            "description": "CRM sync",
            "event_types": ["contact.created", "email.*"],
            "rate_limit": 10,
            "headers": {"X-Api-Key": HEADER_TOKEN},
        },
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert 24 <= _secret_bytes(endpoint["secret"]) <= 64
    assert endpoint["event_types"] == ["contact.created", "email.*"] and endpoint["enabled"] is True
    secret = endpoint.pop("secret")
    endpoint.pop("previous_secret_expires_at")

    shown = admin.get(f"/webhooks/endpoints/{endpoint['id']}").json()
    assert "secret" not in shown and secret.startswith(shown["secret_prefix"]) and shown["secret_prefix"] != secret
    assert shown == endpoint
    listed = walk(admin, "/webhooks/endpoints")
    assert [e["id"] for e in listed] == [endpoint["id"]] and "secret" not in listed[0]
    assert secret not in admin.get("/webhooks/endpoints").text

    etag = admin.get(f"/webhooks/endpoints/{endpoint['id']}").headers["ETag"]
    patched = admin.patch(
        f"/webhooks/endpoints/{endpoint['id']}", json={"enabled": False, "event_types": []}, headers={"If-Match": etag}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False and patched.json()["event_types"] == []
    stale = admin.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"enabled": True}, headers={"If-Match": etag})
    assert_problem(stale, 412)

    assert admin.delete(f"/webhooks/endpoints/{endpoint['id']}").status_code == 204
    assert_problem(admin.get(f"/webhooks/endpoints/{endpoint['id']}"), 404)

    # Each change is one event (the refused PATCH none), with neither the secret nor a header's value.
    settle(stack, lambda: envelopes(stack, tenant, "webhook.endpoint_deleted"))
    events = [e for e in envelopes(stack, tenant) if e["type"].startswith("webhook.endpoint_")]
    kinds = ["webhook.endpoint_created", "webhook.endpoint_updated", "webhook.endpoint_deleted"]
    assert [e["type"] for e in events] == kinds
    assert events[0]["data"]["header_names"] == ["X-Api-Key"]
    assert {"field": "enabled", "old": True, "new": False} in events[1]["changes"]
    assert secret not in json.dumps(events) and HEADER_TOKEN not in json.dumps(events)


def test_rotation_shows_the_new_secret_once_and_keeps_the_old_one_for_a_day(stack: LocalRuntime, admin: Api) -> None:
    endpoint = admin.post("/webhooks/endpoints", json={"url": URL}).json()
    rotated = admin.post(f"/webhooks/endpoints/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"] != endpoint["secret"] and _secret_bytes(body["secret"]) >= 24
    assert body["previous_secret_expires_at"] is not None
    assert "secret" not in admin.get(f"/webhooks/endpoints/{endpoint['id']}").json()

    # The audit trail shows the endpoint's changes old -> new, a secret as `[secret]` only.
    moved = admin.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"url": URL + "/v2"})
    assert moved.status_code == 200, moved.text

    def trail() -> list[dict[str, Any]]:
        return walk(admin, "/audit", entity_type="webhook", entity_id=endpoint["id"])

    records = settle(stack, lambda: len(trail()) == 3 and trail())
    assert [r["type"] for r in records] == [
        "webhook.endpoint_updated",
        "webhook.endpoint_secret_rotated",
        "webhook.endpoint_created",
    ]  # newest first
    assert records[0]["changes"] == [{"field": "url", "old": URL, "new": URL + "/v2"}]
    assert {"field": "secret", "old": "[secret]", "new": "[secret]"} in records[1]["changes"]
    shown = json.dumps(records)
    assert endpoint["secret"] not in shown and body["secret"] not in shown


def test_each_refusal_names_its_field(admin: Api, tenant: str) -> None:
    assert_problem(admin.post("/webhooks/endpoints", json={"url": "http://hooks.example.com/"}), 422, "url")
    assert_problem(admin.post("/webhooks/endpoints", json={"url": "ftp://hooks.example.com/"}), 422, "url")
    unknown = admin.post("/webhooks/endpoints", json={"url": URL, "event_types": ["contact.created", "nope.x"]})
    assert_problem(unknown, 422, "event_types.1")
    bad_wildcard = admin.post("/webhooks/endpoints", json={"url": URL, "event_types": ["contact*"]})
    assert_problem(bad_wildcard, 422, "event_types.0")
    internal = admin.post("/webhooks/endpoints", json={"url": URL, "event_types": ["sms.send_requested"]})
    assert_problem(internal, 422, "event_types.0")
    for name in ("Webhook-Signature", "Content-Type", "User-Agent", "Connection", "Transfer-Encoding"):
        refused = admin.post("/webhooks/endpoints", json={"url": URL, "headers": {name: "x"}})
        assert_problem(refused, 422, f"headers.{name}")
    user = admin.as_(tenant, "user-1", "user")
    assert_problem(user.post("/webhooks/endpoints", json={"url": URL}), 403)
    assert_problem(user.get("/webhooks/endpoints"), 403)


def test_loopback_http_is_allowed_under_kontakt_dev(admin: Api) -> None:
    created = admin.post("/webhooks/endpoints", json={"url": "http://127.0.0.1:8999/hook"})
    assert created.status_code == 201, created.text


def test_another_tenant_sees_no_endpoint(api: Api, admin: Api) -> None:
    endpoint = admin.post("/webhooks/endpoints", json={"url": URL}).json()
    stranger = api.as_("other-" + endpoint["id"].lower()[:12], "admin-1", "admin")
    for call in (stranger.get, stranger.delete):
        assert_problem(call(f"/webhooks/endpoints/{endpoint['id']}"), 404)
    assert_problem(stranger.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"enabled": False}), 404)
    assert_problem(stranger.post(f"/webhooks/endpoints/{endpoint['id']}/rotate-secret"), 404)
    assert stranger.get("/webhooks/endpoints").json()["items"] == []


def test_the_event_types_come_from_the_catalogue(admin: Api) -> None:
    answer = admin.get("/webhooks/event-types")
    assert answer.status_code == 200, answer.text
    types = {t["type"]: t for t in answer.json()}
    created = types["contact.created"]
    assert created["schema"]["type"] == "object" and "id" in created["schema"]["properties"]
    assert set(created["example"]) <= set(created["schema"]["properties"]) and "id" in created["example"]
    assert "sms.send_requested" not in types and not any(t.startswith("audience.") for t in types)


def test_a_disabled_endpoint_says_why_and_enabling_it_clears_the_reason(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    endpoint = admin.post("/webhooks/endpoints", json={"url": URL}).json()
    assert endpoint["disabled_reason"] is None and endpoint["disabled_at"] is None
    off = admin.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"enabled": False}).json()
    assert off["enabled"] is False and off["disabled_reason"] == "manual" and off["disabled_at"] is not None
    born_off = admin.post("/webhooks/endpoints", json={"url": URL, "enabled": False}).json()
    assert born_off["disabled_reason"] == "manual" and born_off["disabled_at"] is not None

    # The delivery side disables an endpoint that answered 410 Gone: it writes these fields.
    table = table_name(stack, "WebhooksTable")
    stored = stored_data(stack, table, tenant, "endpoint", endpoint["id"])
    gone = {**stored, "enabled": False, "disabled_reason": "gone", "disabled_at": "2026-12-01T10:00:00+00:00"}
    put_stored(stack, table, tenant, "endpoint", endpoint["id"], gone)
    shown = admin.get(f"/webhooks/endpoints/{endpoint['id']}").json()
    assert (shown["enabled"], shown["disabled_reason"], shown["disabled_at"]) == (False, "gone", "2026-12-01T10:00:00Z")
    assert walk(admin, "/webhooks/endpoints")[0]["disabled_reason"] == "gone"

    on = admin.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"enabled": True})
    assert on.status_code == 200, on.text
    assert (on.json()["enabled"], on.json()["disabled_reason"], on.json()["disabled_at"]) == (True, None, None)
    assert "disabled_reason" not in stored_data(stack, table, tenant, "endpoint", endpoint["id"])
