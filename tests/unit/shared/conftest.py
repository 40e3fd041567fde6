"""Hand-made API Gateway HTTP API (payload 2.0) events for the kernel's unit tests.

No `__init__.py` here on purpose: a package named `shared` would shadow the kernel.
"""

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests import tokens

HttpEvent = Callable[..., dict[str, Any]]

DEFAULT_CLAIMS = {
    "sub": "0d5e7c1a-login",
    "user_id": "user-1",
    "tenant_id": "tenant-1",
    "role": "admin",
    "groups": "[g1 g2]",
}


def http_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    claims: dict[str, Any] | None = DEFAULT_CLAIMS,
    request_id: str = "req-123",
    is_base64_encoded: bool = False,
) -> dict[str, Any]:
    """An event as API Gateway sends it; a dict or list body is sent as JSON, a str as is."""
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    if body is not None and is_base64_encoded:
        body = base64.b64encode(body.encode()).decode()
    query = query or {}
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "api.example.com",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "t"},
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 1767225600000,
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        "requestContext": request_context,
        "isBase64Encoded": is_base64_encoded,
    }
    if claims is not None:  # the caller these claims name, as a token of the tests' issuer
        event["headers"]["authorization"] = tokens.authorization(claims)
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


@pytest.fixture
def make_http_event() -> HttpEvent:
    return http_event


@pytest.fixture(autouse=True)
def _trusted_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel verifies the tokens of `http_event` (tests/tokens.py)."""
    tokens.trust(monkeypatch)
