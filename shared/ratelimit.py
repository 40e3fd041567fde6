"""A tenant's share of an API function: a token bucket per tenant in each function instance.

Every request of a signed-in caller takes a token from its tenant's bucket, which holds up to the
policy's quota (`TENANT_RATE_QUOTA` requests) and refills at quota / window a second
(`TENANT_RATE_WINDOW` seconds); both come from template.yaml's parameters through the functions'
environment. A request that finds no token is answered 429 (`rate_limited`, a problem with
`Retry-After`) without running; every answer to a signed-in caller carries the IETF RateLimit
fields (draft-ietf-httpapi-ratelimit-headers-10, Structured Fields):

    RateLimit-Policy: "tenant";q=1200;w=60
    RateLimit: "tenant";r=1187;t=1

`r`: the requests left now; `t`: the seconds until the bucket holds one more (left out when it is
full), which is also a 429's `Retry-After`.

The buckets live in the function instance's memory: the limit holds per tenant per instance, and
a tenant whose requests are spread over N warm instances gets up to N times it. The stage
throttling (template.yaml `DefaultRouteSettings`/`RouteSettings`) caps all tenants together.
Why not a counter in DynamoDB: docs/decisions.md ("A tenant's rate limit").

No Powertools resolver is imported here (like `shared.conventions`).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth import Unauthenticated, from_http_event
from shared.errors import problem_body

QUOTA_ENV = "TENANT_RATE_QUOTA"
WINDOW_ENV = "TENANT_RATE_WINDOW"
POLICY_NAME = "tenant"
POLICY_HEADER = "RateLimit-Policy"
LIMIT_HEADER = "RateLimit"
RETRY_AFTER = "Retry-After"
CODE = "rate_limited"
PROBLEM_JSON = "application/problem+json"
# Buckets kept before the full ones are dropped (a full bucket is the same as none).
MAX_BUCKETS = 10_000


@dataclass(frozen=True)
class Policy:
    """`quota` requests per `window` seconds: a bucket of `quota` tokens refilled at quota/window a second."""

    quota: int
    window: int

    @property
    def rate(self) -> float:
        return self.quota / self.window

    def header(self) -> str:
        return f'"{POLICY_NAME}";q={self.quota};w={self.window}'


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # whole tokens left after this request
    wait: int | None  # seconds until one more token (None: the bucket is full)

    def header(self) -> str:
        return f'"{POLICY_NAME}";r={self.remaining}' + (f";t={self.wait}" if self.wait is not None else "")


def policy_from(environment: Mapping[str, str]) -> Policy | None:
    """The policy the function's environment sets; None (no limit) when it sets none.

    A quota or window that is not a positive whole number is a deployment mistake: it raises."""
    quota, window = environment.get(QUOTA_ENV), environment.get(WINDOW_ENV)
    if not quota and not window:
        return None
    policy = Policy(int(quota or 0), int(window or 0))
    if policy.quota < 1 or policy.window < 1:
        raise ValueError(f"{QUOTA_ENV} and {WINDOW_ENV} must be positive whole numbers, not {quota!r}/{window!r}")
    return policy


class Buckets:
    """A token bucket per key (a tenant), as `Policy` says."""

    def __init__(self, policy: Policy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> Decision:
        """Take a token for a request of `key`, if one is there."""
        quota, rate = self.policy.quota, self.policy.rate
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (float(quota), now))
            tokens = min(float(quota), tokens + (now - at) * rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_full(now)
        wait = None if tokens >= quota else max(1, math.ceil((math.floor(tokens) + 1 - tokens) / rate))
        return Decision(allowed, math.floor(tokens), wait)

    def _forget_full(self, now: float) -> None:
        quota, rate = self.policy.quota, self.policy.rate
        full = [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * rate >= quota]
        for key in full:
            del self._buckets[key]


_state: dict[str, Buckets] = {}


def _buckets(policy: Policy) -> Buckets:
    """This instance's buckets for `policy` (new ones when the policy changed)."""
    current = _state.get("buckets")
    if current is None or current.policy != policy:
        current = _state["buckets"] = Buckets(policy)
    return current


def reset() -> None:
    """Forget every bucket, as a cold start does (tests that call handlers in-process)."""
    _state.clear()


def handle(event: Mapping[str, Any], answer: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Answer an API request (`answer()` runs it) within its tenant's rate limit.

    Requests without a signed-in caller (public routes) are not limited here: the stage throttling
    covers them."""
    policy = policy_from(os.environ)
    if policy is None:
        return answer()
    try:
        caller = from_http_event(dict(event))
    except Unauthenticated:
        return answer()  # public, or refused as 401 by the app
    decision = _buckets(policy).take(caller.tenant_id)
    result = answer() if decision.allowed else refusal(policy, decision)
    headers = result.get("headers")
    if not isinstance(headers, dict):
        headers = result["headers"] = {}
    headers[POLICY_HEADER] = policy.header()
    headers[LIMIT_HEADER] = decision.header()
    return result


def refusal(policy: Policy, decision: Decision) -> dict[str, Any]:
    """The 429 problem of a request beyond its tenant's limit (the Lambda result)."""
    wait = decision.wait or 1
    detail = (
        f"The tenant sent more than {policy.quota} requests in {policy.window} seconds to this part of the API; "
        f"retry in {wait} seconds."
    )
    body = problem_body(429, CODE, "Too many requests", detail)
    headers = {"Content-Type": PROBLEM_JSON, RETRY_AFTER: str(wait)}
    return {"statusCode": 429, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}


HEADERS_DOCUMENTED: dict[str, dict[str, Any]] = {
    "RateLimitPolicy": {
        "description": "The caller's tenant's rate limit (draft-ietf-httpapi-ratelimit-headers): "
        '`"tenant";q=<requests>;w=<seconds>`, a token bucket of `q` requests refilled over `w` seconds, '
        "per function instance (several instances may serve a tenant). On every answer to a signed-in caller.",
        "schema": {"type": "string", "examples": ['"tenant";q=1200;w=60']},
    },
    "RateLimit": {
        "description": 'What is left of it: `"tenant";r=<requests left>;t=<seconds until one more>` '
        "(`t` left out while nothing is used). On every answer to a signed-in caller.",
        "schema": {"type": "string", "examples": ['"tenant";r=1187;t=1']},
    },
    "RetryAfter": {
        "description": "Seconds to wait before sending again (the kernel's 429; API Gateway's own 429 has none)",
        "schema": {"type": "integer", "minimum": 1},
    },
}
_RATE_HEADERS = {
    POLICY_HEADER: {"$ref": "#/components/headers/RateLimitPolicy"},
    LIMIT_HEADER: {"$ref": "#/components/headers/RateLimit"},
}


def signed_in(operation: Mapping[str, Any]) -> bool:
    """Whether an operation takes a login (its security names a scheme), so its tenant is limited."""
    return operation.get("security", [{"bearer": []}]) not in ([], [{}])


def response_headers(throttled: bool = False) -> dict[str, Any]:
    """The headers of an answer to a signed-in caller (with `Retry-After` on the kernel's 429)."""
    extra = {RETRY_AFTER: {"$ref": "#/components/headers/RetryAfter"}} if throttled else {}
    return {**_RATE_HEADERS, **extra}


def document(document: dict[str, Any]) -> dict[str, Any]:
    """Document the RateLimit fields on every answer of each operation that takes a login (its own
    answers; the shared error answers say it in `TooManyRequests`)."""
    document.setdefault("components", {}).setdefault("headers", {}).update(HEADERS_DOCUMENTED)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or not signed_in(operation):
                continue
            for response in operation.get("responses", {}).values():
                if "$ref" not in response:
                    response.setdefault("headers", {}).update(_RATE_HEADERS)
    return document
