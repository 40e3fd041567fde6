"""A tenant's rate limit in the kernel (`shared.ratelimit`, applied by `shared.api`'s resolver to
every route that takes a login): a 429 problem with `Retry-After` beyond it, the IETF RateLimit
fields on every answer, other tenants and public routes untouched, and the OpenAPI document says so."""

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from shared import api as http
from shared import ratelimit
from shared.ratelimit import Buckets, Policy, policy_from

pytestmark = pytest.mark.disable_socket

# draft-ietf-httpapi-ratelimit-headers-10: a List of one Item, a String naming the policy, with
# Integer parameters (RFC 9651 Structured Fields).
POLICY_FIELD = re.compile(r'"tenant";q=(\d{1,15});w=(\d{1,15})')
LIMIT_FIELD = re.compile(r'"tenant";r=(\d{1,15})(?:;t=(\d{1,15}))?')

app = http.create_app("Rate limit test", "ratelimit")


@app.get("/things")
def list_things() -> dict[str, Any]:
    return {"items": []}


@app.get("/open", security=[{}])
def public() -> dict[str, Any]:
    return {}


@pytest.fixture(autouse=True)
def low_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """3 requests per 60 s per tenant, fresh buckets (as a cold start has)."""
    monkeypatch.setenv(ratelimit.QUOTA_ENV, "3")
    monkeypatch.setenv(ratelimit.WINDOW_ENV, "60")
    ratelimit.reset()
    yield
    ratelimit.reset()


def _get(make_http_event: Any, path: str, tenant: str = "tenant-1", **kwargs: Any) -> dict[str, Any]:
    claims = {"user_id": "user-1", "tenant_id": tenant, "role": "admin"}
    return app.resolve(make_http_event("GET", path, claims=claims, **kwargs), {})


def test_a_burst_beyond_the_tenants_quota_is_a_429_problem_with_retry_after(make_http_event: Any) -> None:
    answers = [_get(make_http_event, "/things") for _ in range(4)]
    assert [a["statusCode"] for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    headers = refused["headers"]
    assert headers["Content-Type"] == "application/problem+json"
    body = json.loads(refused["body"])
    assert body["status"] == 429 and body["code"] == "rate_limited" and body["instance"] == "/things"
    assert body["correlation_id"] == headers["X-Request-Id"] == "req-123"
    # One token comes back every 60/3 = 20 s: that is when to retry, and what `t` says.
    assert headers["Retry-After"] == "20"
    assert headers["RateLimit"] == '"tenant";r=0;t=20'
    assert headers["RateLimit-Policy"] == '"tenant";q=3;w=60'


def test_every_answer_carries_well_formed_ratelimit_fields(make_http_event: Any) -> None:
    remaining = []
    for _ in range(3):
        headers = _get(make_http_event, "/things")["headers"]
        policy = POLICY_FIELD.fullmatch(headers["RateLimit-Policy"])
        limit = LIMIT_FIELD.fullmatch(headers["RateLimit"])
        assert policy and policy.groups() == ("3", "60")
        assert limit and limit.group(2) is not None and 1 <= int(limit.group(2)) <= 20
        remaining.append(int(limit.group(1)))
    assert remaining == [2, 1, 0]
    assert "Retry-After" not in headers  # only a refusal says when to retry


def test_an_error_answer_counts_and_carries_the_fields_too(make_http_event: Any) -> None:
    answer = _get(make_http_event, "/nowhere")
    assert answer["statusCode"] == 404 and answer["headers"]["RateLimit"].startswith('"tenant";r=2;')


def test_another_tenant_has_its_own_bucket(make_http_event: Any) -> None:
    for _ in range(4):
        _get(make_http_event, "/things", tenant="busy")
    assert _get(make_http_event, "/things", tenant="busy")["statusCode"] == 429
    other = _get(make_http_event, "/things", tenant="quiet")
    assert other["statusCode"] == 200 and other["headers"]["RateLimit"] == '"tenant";r=2;t=20'


def test_a_route_without_a_login_is_left_to_the_stage_throttling(make_http_event: Any) -> None:
    answers = [app.resolve(make_http_event("GET", "/open", claims=None), {}) for _ in range(5)]
    assert [a["statusCode"] for a in answers] == [200] * 5
    assert not any("RateLimit" in a["headers"] for a in answers)


def test_without_a_configured_policy_nothing_is_limited(monkeypatch: pytest.MonkeyPatch, make_http_event: Any) -> None:
    monkeypatch.delenv(ratelimit.QUOTA_ENV)
    monkeypatch.delenv(ratelimit.WINDOW_ENV)
    answers = [_get(make_http_event, "/things") for _ in range(5)]
    assert [a["statusCode"] for a in answers] == [200] * 5 and "RateLimit" not in answers[-1]["headers"]


@pytest.mark.parametrize(("quota", "window"), [("0", "60"), ("10", "0"), ("ten", "60"), ("10", "")])
def test_a_wrong_setting_is_a_deployment_mistake(quota: str, window: str) -> None:
    with pytest.raises(ValueError):
        policy_from({ratelimit.QUOTA_ENV: quota, ratelimit.WINDOW_ENV: window})


def test_a_bucket_refills_at_quota_per_window_up_to_the_quota() -> None:
    now = [1000.0]
    buckets = Buckets(Policy(quota=2, window=10), clock=lambda: now[0])  # a token every 5 s
    first = buckets.take("t")
    assert (first.allowed, first.remaining, first.wait) == (True, 1, 5)
    assert buckets.take("t").allowed and not buckets.take("t").allowed
    now[0] += 4.0
    refused = buckets.take("t")
    assert (refused.allowed, refused.remaining, refused.wait) == (False, 0, 1)  # 0.8 of a token: 1 s to go
    now[0] += 1.0
    assert buckets.take("t").allowed
    now[0] += 1000.0
    full = buckets.take("t")
    assert (full.remaining, full.wait) == (1, 5)  # never more than the quota
    now[0] += 5.0
    assert buckets.take("s").wait == 5 and Buckets(Policy(2, 10)).take("x").header() == '"tenant";r=1;t=5'


def test_full_buckets_are_forgotten_when_there_are_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 3)
    now = [0.0]
    buckets = Buckets(Policy(quota=10, window=10), clock=lambda: now[0])
    for tenant in ("a", "b", "c"):
        buckets.take(tenant)
    now[0] += 5.0
    buckets.take("d")
    assert set(buckets._buckets) == {"d"}


DOCUMENT = json.loads(app.get_openapi_json_schema())


def test_the_document_shows_the_kernels_429_and_the_fields_where_a_login_is_taken() -> None:
    responses = DOCUMENT["components"]["responses"]
    things = DOCUMENT["paths"]["/things"]["get"]["responses"]
    assert things["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    throttled = responses["TooManyRequests"]
    assert throttled["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert throttled["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayError"}
    assert {"Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-Id"} <= set(throttled["headers"])
    assert {"RateLimit", "RateLimit-Policy"} <= set(things["200"]["headers"])
    headers = DOCUMENT["components"]["headers"]
    assert headers["RetryAfter"]["schema"]["type"] == "integer"


def test_the_document_leaves_a_public_route_to_api_gateways_429() -> None:
    opened = DOCUMENT["paths"]["/open"]["get"]["responses"]
    assert opened["429"] == {"$ref": "#/components/responses/GatewayThrottled"}
    assert "RateLimit" not in opened["200"].get("headers", {})
    gateway = DOCUMENT["components"]["responses"]["GatewayThrottled"]
    assert set(gateway["content"]) == {"application/json"} and "Retry-After" not in gateway["headers"]
