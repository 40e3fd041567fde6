"""A tenant's rate limit through the local stack: every answer to a signed-in caller carries the
IETF RateLimit fields with the template's policy; a burst beyond a (lowered) quota is a 429
problem with `Retry-After`, and another tenant is not affected (shared/ratelimit.py)."""

from __future__ import annotations

import re

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import new_tenant

POLICY_FIELD = re.compile(r'"tenant";q=(\d{1,15});w=(\d{1,15})')
LIMIT_FIELD = re.compile(r'"tenant";r=(\d{1,15})(?:;t=(\d{1,15}))?')
EMAIL_API = "EmailApiFunction"


def test_answers_carry_the_templates_policy_and_what_is_left(api: Api) -> None:
    admin = api.as_(new_tenant(), "admin-1")
    answer = admin.get("/contacts", headers={"Origin": "https://app.example"})
    assert answer.status_code == 200
    policy = POLICY_FIELD.fullmatch(answer.headers["RateLimit-Policy"])
    assert policy and policy.groups() == ("1200", "60")  # template.yaml's TenantRateQuota/TenantRateWindow
    limit = LIMIT_FIELD.fullmatch(answer.headers["RateLimit"])
    assert limit and 0 < int(limit.group(1)) < 1200 and "Retry-After" not in answer.headers
    exposed = answer.headers["Access-Control-Expose-Headers"].split(",")
    assert {"ratelimit", "ratelimit-policy", "retry-after"} <= set(exposed)  # a browser's script may read them
    public = api.anonymous().get("/openapi.json")
    assert public.status_code == 200 and "RateLimit" not in public.headers  # no tenant: the stage throttles it


def test_a_burst_beyond_a_tenants_quota_is_refused_and_other_tenants_go_on(stack: LocalRuntime, api: Api) -> None:
    busy, quiet = api.as_(new_tenant(), "admin-1"), api.as_(new_tenant(), "admin-1")
    lowered = {"TENANT_RATE_QUOTA": "3", "TENANT_RATE_WINDOW": "60"}  # a token every 20 s
    with stack.functions.configured(EMAIL_API, environment=lowered):
        answers = [busy.get("/email/templates") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["RateLimit"].split(";t=")[0] for a in answers] == [f'"tenant";r={n}' for n in (2, 1, 0, 0)]
        refused = answers[-1]
        assert refused.headers["Content-Type"] == "application/problem+json"
        problem = refused.json()
        assert problem["status"] == 429 and problem["code"] == "rate_limited"
        assert problem["correlation_id"] == refused.headers["X-Request-Id"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 20
        assert refused.headers["RateLimit-Policy"] == '"tenant";q=3;w=60'
        other = quiet.get("/email/templates")
        assert other.status_code == 200 and other.headers["RateLimit"] == '"tenant";r=2;t=20'
        # Each API function keeps its own buckets: the busy tenant's contacts still answer.
        assert busy.get("/contacts").status_code == 200
