"""One webhook request, through the kernel's outbound guard (shared/outbound.py).

The URL's host is resolved once and checked (`outbound.destination`); the connection goes to THAT
address, while the name stays the request's Host and, for https, the TLS server name and the
certificate's expected host, so a second DNS answer (rebinding) reaches nothing unchecked. No
redirect is followed (a 3xx is an answer like any other), nothing is retried here, and the whole
request has REQUEST_TIMEOUT. `kontakt dev` reaches loopback receivers because its OUTBOUND_ALLOW
lists 127.0.0.1 and ::1 (infra/template.py), not by a branch here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from services.webhooks.domain.messages import RESPONSE_BODY_KEPT, WebhookAttemptError
from shared import outbound

REQUEST_TIMEOUT = 15.0  # seconds for the whole request: connect, send, the answer's head and kept body


@dataclass
class Answer:
    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    error: WebhookAttemptError | None = None
    latency_ms: int = 0


def post(url: str, body: str, headers: dict[str, str], timeout: float = REQUEST_TIMEOUT) -> Answer:
    """POST `body` to `url` with `headers`; what came back (or why nothing did)."""
    parts = urlsplit(url)
    host, https = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        where = outbound.destination(host, port)
    except outbound.OutboundRefused:
        return Answer(error=WebhookAttemptError.refused_address)
    except outbound.Unresolved:
        return Answer(error=WebhookAttemptError.connection)
    default_port = port == (443 if https else 80)
    shown_host = f"[{host}]" if ":" in host else host
    request_headers = {**headers, "Host": shown_host if default_port else f"{shown_host}:{port}"}
    limit = urllib3.Timeout(total=timeout)
    pool: urllib3.HTTPConnectionPool
    if https:
        pool = urllib3.HTTPSConnectionPool(
            where.address, port, timeout=limit, retries=False, server_hostname=host, assert_hostname=host
        )
    else:
        pool = urllib3.HTTPConnectionPool(where.address, port, timeout=limit, retries=False)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST", path, body=body.encode(), headers=request_headers, redirect=False, retries=False,
            preload_content=False, assert_same_host=False,
        )  # fmt: skip
        try:
            kept = response.read(RESPONSE_BODY_KEPT, decode_content=True)
        finally:
            response.release_conn()
        answer = Answer(
            status_code=response.status,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=kept.decode("utf-8", "replace")[:RESPONSE_BODY_KEPT],
        )
    except NewConnectionError:  # refused or unreachable (urllib3 makes it a kind of timeout: it is not one)
        answer = Answer(error=WebhookAttemptError.connection)
    except TimeoutError:
        answer = Answer(error=WebhookAttemptError.timeout)
    except (HTTPError, OSError):
        answer = Answer(error=WebhookAttemptError.connection)
    finally:
        pool.close()
    answer.latency_ms = int((time.monotonic() - started) * 1000)
    return answer
