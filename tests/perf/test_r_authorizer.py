"""(r) What the HTTP API's Lambda authorizer adds to a request: a cache miss invokes it through the
local runtime's worker (a user's token verified, or an API key read from the table: moto here), a
hit is the gateway's lookup of the cached answer. The tenant's IP rules are kept by the instance."""

from __future__ import annotations

import uuid

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.gateway import Gateway
from infra.runtime import LocalRuntime
from infra.template import Authorizer, Route

from .conftest import FIGURES, percentile, render, stopwatch

pytestmark = pytest.mark.perf

ROUNDS = 60
CACHED_ROUNDS = 2000


def _request(runtime: LocalRuntime, authorization: str) -> Request:
    environ = EnvironBuilder(path="/contacts", headers={"Authorization": authorization}).get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"
    return Request(environ)


def reader_key(runtime: LocalRuntime, token: str) -> str:
    """The secret of a new API key that reads contacts, made by the token's admin."""
    answer = requests.post(
        f"{runtime.api_url}/api-keys",
        json={"name": "perf", "permissions": ["contacts:read"]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


def contacts_route(gateway: Gateway) -> tuple[Route, dict[str, str], Authorizer]:
    """`GET /contacts` as the gateway matches it, and its Lambda authorizer."""
    route, params = gateway.routes.match("GET", "/contacts") or (None, {})
    assert route is not None and route.authorizer is not None
    return route, params, gateway.stack.authorizers[route.authorizer]


def test_authorizer_latency(runtime: LocalRuntime) -> None:
    assert runtime.gateway is not None
    gateway = runtime.gateway
    tenant = f"perf-auth-{uuid.uuid4().hex[:8]}"
    token = runtime.token(tenant, "admin-1", "admin")
    secret = reader_key(runtime, token)
    route, params, authorizer = contacts_route(gateway)

    rows, figures = [], []
    for label, credential in (("user token", token), ("API key", secret)):
        request = _request(runtime, f"Bearer {credential}")
        identity = (f"Bearer {credential}", "127.0.0.1")
        event = gateway.authorizer_event(request, route, params, identity, "perf")
        runtime.invoke(authorizer.function, event)  # warm: the worker's cold start is not measured
        # A user's token is another each time (the instance keeps the last one verified): its
        # signature is checked on every miss. A key is read on every miss (no cache in the instance).
        events = [event] * ROUNDS
        if credential == token:
            claims = {"sub": "admin-1", "user_id": "admin-1", "tenant_id": tenant, "role": "admin", "groups": []}
            fresh = [runtime.issuer.sign({**claims, "jti": str(n)}) for n in range(ROUNDS)]
            events = [{**event, "headers": {**event["headers"], "authorization": f"Bearer {t}"}} for t in fresh]
        misses = []
        for each in events:
            with stopwatch() as elapsed:
                decided = runtime.invoke(authorizer.function, each)
            misses.append(elapsed())
        assert decided["isAuthorized"] and decided["context"]["tenant_id"] == tenant, decided
        gateway._authorize(request, route, params, "perf")  # the answer cached
        hits = []
        for _ in range(CACHED_ROUNDS):
            with stopwatch() as elapsed:
                gateway._authorize(request, route, params, "perf")
            hits.append(elapsed())
        for kind, values, scale, unit in (("uncached", misses, 1000, "ms"), ("cached", hits, 1e6, "µs")):
            p50, p99 = percentile(values, 50) * scale, percentile(values, 99) * scale
            rows.append((f"{label}, {kind}", f"{p50:.1f}", f"{p99:.1f}", unit))
            figures.append((f"{label} {kind} p50/p99", f"{p50:.1f}/{p99:.1f}", unit))
    print(
        render(
            f"(r) authorizer added latency per request: {ROUNDS} invocations (cache misses), "
            f"{CACHED_ROUNDS} cache hits, per credential",
            rows,
            header=("credential", "p50", "p99", "unit"),
        )
    )
    for name, value, unit in figures:
        FIGURES.add("r. authorizer", name, value, unit)
