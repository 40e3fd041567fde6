"""The event types a tenant may subscribe to: `event_types.json`, generated from the event catalogue
by `kontakt docs` (infra/docs.py `webhook_event_types`; `kontakt docs --check` fails when stale), so
this function imports no other service. Internal command events are left out there."""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

_FILE = Path(__file__).with_name("event_types.json")
_WILDCARD = re.compile(r"^[a-z][a-z0-9_]*\.\*$")


@cache
def event_types() -> list[dict[str, Any]]:
    return list(json.loads(_FILE.read_text(encoding="utf-8")))


@cache
def _names() -> frozenset[str]:
    return frozenset(t["type"] for t in event_types())


def filter_problem(pattern: str) -> str | None:
    """Why a filter entry matches nothing offered (None: it is an offered type or a wildcard of one)."""
    if "*" in pattern:
        if not _WILDCARD.match(pattern):
            return "a wildcard is `<prefix>.*`, e.g. `contact.*`"
        prefix = pattern[:-1]
        if not any(name.startswith(prefix) for name in _names()):
            return f"no event type matches {pattern}"
        return None
    return None if pattern in _names() else f"{pattern} is not an event type a webhook may receive"
