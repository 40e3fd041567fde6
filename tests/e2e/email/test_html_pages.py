"""The HTML pages the APIs serve carry the security headers, through the local runtime's gateway."""

from __future__ import annotations

from typing import Any

import pytest

from infra.runtime import LocalRuntime
from tests.e2e.email.helpers import unsubscribe_link_token
from tests.e2e.helpers import new_tenant


def _assert_secure_page(response: Any) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    policy = str(response.headers["Content-Security-Policy"])
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    return policy


def test_the_unsubscribe_landing_page_runs_no_script_and_cannot_be_framed(api: Any, stack: LocalRuntime) -> None:
    token = unsubscribe_link_token(stack, new_tenant(), "ann@example.com", "marketing", contact_id="c1")
    policy = _assert_secure_page(api.anonymous().get(f"/u/{token}"))
    assert "script-src" not in policy  # default-src 'none' then forbids every script
    assert "form-action 'self'" in policy  # its button posts back to the same link


@pytest.mark.parametrize("service", ["directory", "activities", "email"])
def test_the_docs_pages_carry_the_security_headers(api: Any, service: str) -> None:
    policy = _assert_secure_page(api.anonymous().get(f"/{service}/docs"))
    assert "connect-src 'self'" in policy
