"""Lambda's 6 MB response limit, locally: the invocation fails as Function.ResponseSizeTooLarge and the
HTTP API answers what API Gateway answers for a failed invocation, 500 {"message": "Internal Server Error"}."""

from __future__ import annotations

import pytest
import requests

from infra.aws_limits import LAMBDA_RESPONSE_MAX_BYTES
from infra.functions import _ResponseTooLarge, response_payload
from infra.runtime import LocalRuntime

# The runtime talks to its emulator and gateway over loopback, whatever unit tests disable.
pytestmark = pytest.mark.enable_socket


def test_a_response_over_6_mb_is_api_gateways_500(runtime: LocalRuntime) -> None:
    url = runtime.api_url + "/public"
    over = requests.get(url, params={"payload_bytes": LAMBDA_RESPONSE_MAX_BYTES + 1}, timeout=60)
    assert over.status_code == 500
    assert over.json() == {"message": "Internal Server Error"}
    assert over.headers["apigw-requestid"]
    within = requests.get(url, params={"payload_bytes": LAMBDA_RESPONSE_MAX_BYTES}, timeout=60)
    assert within.status_code == 200
    assert len(within.content) == LAMBDA_RESPONSE_MAX_BYTES - len('{"statusCode": 200, "body": ""}')


def test_the_payload_is_counted_as_the_python_312_runtime_sends_it() -> None:
    """JSON with non-ASCII characters as they are (2 bytes for "é", not a 6-byte \\u escape)."""
    body = "é" * ((LAMBDA_RESPONSE_MAX_BYTES - 12) // 2)  # '{"body": ""}' is 12 bytes
    assert len(response_payload({"body": body}).encode()) == LAMBDA_RESPONSE_MAX_BYTES
    with pytest.raises(_ResponseTooLarge):
        response_payload({"body": body + "x"})
