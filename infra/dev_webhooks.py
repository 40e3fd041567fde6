"""The webhook receiver `kontakt dev` runs on its own gateway, for the demo tenant's endpoint and for
a developer's: `POST /dev/webhooks/<name>` records the request (time, name, the Standard Webhooks
headers, the first `BODY_KEPT` bytes of the body) and answers 204, or the status `?status=` asks for
(500 to watch the retries, 410 to see the endpoint disabled). `GET /dev/webhooks` lists what came,
newest first; the console page shows it ("Webhooks received"). Kept in memory: a restart forgets.

Like every /dev path it answers only a Host naming this machine (infra/gateway.py).
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

KEPT = 200  # requests remembered
BODY_KEPT = 4096  # bytes of each body
SHOWN_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "user-agent", "content-type")
PATH = "/dev/webhooks"


class Receiver:
    """The requests the receiver got, newest last (at most `KEPT`)."""

    def __init__(self, kept: int = KEPT) -> None:
        self._received: deque[dict[str, Any]] = deque(maxlen=kept)
        self._lock = threading.Lock()

    def receive(self, name: str, headers: dict[str, str], body: bytes, status: int) -> dict[str, Any]:
        lowered = {k.lower(): v for k, v in headers.items()}
        entry = {
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "name": name,
            "status": status,
            "type": _event_type(body),
            "headers": {h: lowered[h] for h in SHOWN_HEADERS if h in lowered},
            "other_headers": sorted(h for h in lowered if h not in SHOWN_HEADERS),
            "body": body[:BODY_KEPT].decode("utf-8", errors="replace"),
            "bytes": len(body),
        }
        with self._lock:
            self._received.append(entry)
        return entry

    def listing(self, limit: int = 100, name: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` requests, newest first (those to `name` only, when given)."""
        with self._lock:
            entries = [e for e in reversed(self._received) if name is None or e["name"] == name]
        return entries[: max(1, limit)]


def answer_status(asked: str | None) -> int:
    """The status a request asked for with `?status=` (200-599), else 204."""
    try:
        status = int(asked or 204)
    except ValueError:
        return 400
    return status if 200 <= status <= 599 else 400


def _event_type(body: bytes) -> str:
    import json

    try:
        document = json.loads(body)
    except ValueError:
        return ""
    return str(document.get("type", "")) if isinstance(document, dict) else ""
