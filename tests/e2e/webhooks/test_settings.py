"""The tenant's webhook settings through `kontakt dev` (issue 20, item 1): `allow_http` decides whether
endpoint URLs may use plain http, `retention_days` how long the delivery log is kept."""

from __future__ import annotations

from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, ok

HTTPS = "https://hooks.example.com/kontakt"
HTTP = "http://hooks.example.com/kontakt"


def test_the_defaults_are_https_only_and_thirty_days_and_anyone_reads_them(admin: Api, tenant: str) -> None:
    user = admin.as_(tenant, "user-1", "user")
    assert ok(user.get("/webhooks/settings")) == {"allow_http": False, "retention_days": 30}


def test_an_admin_changes_them_as_a_merge_patch(admin: Api, tenant: str) -> None:
    assert ok(admin.patch("/webhooks/settings", json={"retention_days": 7})) == {
        "allow_http": False,
        "retention_days": 7,
    }
    assert ok(admin.patch("/webhooks/settings", json={"allow_http": True}))["retention_days"] == 7
    assert ok(admin.get("/webhooks/settings")) == {"allow_http": True, "retention_days": 7}

    for refused in ({"retention_days": 0}, {"retention_days": 91}, {"retention_days": None}, {"allow_http": None}):
        assert_problem(admin.patch("/webhooks/settings", json=refused), 422, next(iter(refused)))
    user = admin.as_(tenant, "manager-1", "manager")
    assert_problem(user.patch("/webhooks/settings", json={"allow_http": False}), 403)
    assert ok(admin.get("/webhooks/settings")) == {"allow_http": True, "retention_days": 7}


def test_http_urls_need_the_setting(admin: Api) -> None:
    refused = assert_problem(admin.post("/webhooks/endpoints", json={"url": HTTP}), 422, "url")
    assert refused["errors"][0]["code"] == "http_not_allowed"
    endpoint = ok(admin.post("/webhooks/endpoints", json={"url": HTTPS}), 201)
    changed = admin.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"url": HTTP})
    assert assert_problem(changed, 422, "url")["errors"][0]["code"] == "http_not_allowed"
    assert ok(admin.get(f"/webhooks/endpoints/{endpoint['id']}"))["url"] == HTTPS

    ok(admin.patch("/webhooks/settings", json={"allow_http": True}))
    assert ok(admin.post("/webhooks/endpoints", json={"url": HTTP}), 201)["url"] == HTTP
    assert ok(admin.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"url": HTTP}))["url"] == HTTP


def test_turning_http_off_is_refused_while_endpoints_use_it(admin: Api) -> None:
    ok(admin.patch("/webhooks/settings", json={"allow_http": True}))
    plain = ok(admin.post("/webhooks/endpoints", json={"url": HTTP}), 201)
    other = ok(admin.post("/webhooks/endpoints", json={"url": HTTPS}), 201)
    changed = ok(admin.patch(f"/webhooks/endpoints/{other['id']}", json={"url": HTTP + "/2"}))
    ok(admin.post("/webhooks/endpoints", json={"url": "http://127.0.0.1:8999/hook"}), 201)  # loopback: dev's own

    refused = assert_problem(admin.patch("/webhooks/settings", json={"allow_http": False}), 409, "allow_http")
    assert refused["code"] == "http_in_use"
    named = sorted(e["message"] for e in refused["errors"])
    assert named == sorted([f"endpoint {plain['id']} uses {HTTP}", f"endpoint {other['id']} uses {changed['url']}"])
    assert ok(admin.get("/webhooks/settings"))["allow_http"] is True

    assert admin.delete(f"/webhooks/endpoints/{plain['id']}").status_code == 204
    ok(admin.patch(f"/webhooks/endpoints/{other['id']}", json={"url": HTTPS}))
    assert ok(admin.patch("/webhooks/settings", json={"allow_http": False}))["allow_http"] is False
    assert_problem(admin.post("/webhooks/endpoints", json={"url": HTTP}), 422, "url")


def test_a_change_takes_if_match(admin: Api) -> None:
    read = admin.get("/webhooks/settings")
    tag = read.headers["ETag"]
    changed = admin.patch("/webhooks/settings", json={"retention_days": 10}, headers={"If-Match": tag})
    assert ok(changed)["retention_days"] == 10 and changed.headers["ETag"] != tag
    assert admin.get("/webhooks/settings").headers["ETag"] == changed.headers["ETag"]
    stale = admin.patch("/webhooks/settings", json={"retention_days": 20}, headers={"If-Match": tag})
    assert_problem(stale, 412)
    assert ok(admin.get("/webhooks/settings"))["retention_days"] == 10
