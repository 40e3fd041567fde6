"""The event types a tenant may subscribe to: `event_types.json`, generated from the event catalogue
by `kontakt docs` (infra/docs.py `webhook_event_types`; `kontakt docs --check` fails when stale), so
this function imports no other service. Internal command events are left out there."""

import json
from functools import cache
from pathlib import Path
from typing import Any

_FILE = Path(__file__).with_name("event_types.json")


@cache
def event_types() -> list[dict[str, Any]]:
    return list(json.loads(_FILE.read_text(encoding="utf-8")))


@cache
def _names() -> frozenset[str]:
    return frozenset(t["type"] for t in event_types())


def filters() -> tuple[str, ...]:
    """What an endpoint's `event_types` may name: each offered type and `<prefix>.*` of each prefix."""
    names = sorted(_names())
    return tuple(names + sorted({name.split(".", 1)[0] + ".*" for name in names}))


def offered() -> list[str]:
    """Every event type a webhook may receive: what the consumer fans out (messages.py)."""
    return sorted(_names())
