"""What an API key may call: its permissions matched against a route (pure, no I/O).

A route is a method and its path as the OpenAPI document names it (`POST /campaigns/{campaign_id}/send`).
Its resource is the path's first segment (`campaigns`, `email`, `sms`). A permission is one of:

- `<resource>:read`: every GET (and HEAD) under the resource;
- `<resource>:write`: every other method under the resource (creates, changes, deletes, actions);
- `<resource>:<action>`: the POST routes whose last segment is that action under the resource
  (`campaigns:send` is `POST /campaigns/{campaign_id}/send`, `contacts:erase`, `invoices:issue`);
  narrower than `write`, which covers them too;
- `<METHOD> <path>`: routes by pattern, `*` for any characters (`/` too) and as a method for any
  method: `GET /contacts/*`, `* /email/templates*`; matched against the documented path.

Reads do not come with writes (Stripe's restricted keys give `write` with `read`; here a key that
writes and reads says both, so a reading integration is never widened by accident). Keys never
manage keys: `api-keys` is no resource a permission can name (the access service refuses keys too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

READS = frozenset({"GET", "HEAD"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
RESERVED = frozenset({"api-keys"})  # keys do not manage keys
_SCOPE = re.compile(r"^(?P<resource>[a-z0-9-]{1,64}):(?P<action>[a-z0-9-]{1,64})$")
_ROUTE = re.compile(r"^(?P<method>[A-Z]+|\*) (?P<path>/[A-Za-z0-9_./{}*-]{0,300})$")
MAX_PERMISSIONS = 50


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as the OpenAPI document names it: /contacts/{contact_id}

    @property
    def resource(self) -> str:
        return self.path.strip("/").split("/", 1)[0]

    @property
    def action(self) -> str | None:
        """The action a POST route performs: its last segment, a literal after a `{param}`."""
        segments = self.path.strip("/").split("/")
        is_action = len(segments) >= 3 and segments[-2].startswith("{") and not segments[-1].startswith("{")
        return segments[-1] if self.method == "POST" and is_action else None


def needed(route: Route) -> str:
    """The narrowest resource permission that allows `route` (what a refusal names)."""
    if route.method in READS:
        return f"{route.resource}:read"
    return f"{route.resource}:{route.action or 'write'}"


def allows(permissions: Iterable[str], route: Route) -> bool:
    """Whether any of `permissions` allows `route`."""
    return any(_matches(permission, route) for permission in permissions)


def _matches(permission: str, route: Route) -> bool:
    scope = _SCOPE.match(permission)
    if scope is not None:
        if scope["resource"] != route.resource or route.resource in RESERVED:
            return False
        action = scope["action"]
        if action == "read":
            return route.method in READS
        if action == "write":
            return route.method not in READS
        return route.action == action
    pattern = _ROUTE.match(permission)
    if pattern is None or route.resource in RESERVED:
        return False
    return pattern["method"] in ("*", route.method) and _path_pattern(pattern["path"]).fullmatch(route.path) is not None


@lru_cache(maxsize=256)
def _path_pattern(path: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in path.split("*")))


def problems(permission: str, routes: Iterable[Route]) -> str | None:
    """Why `permission` is not one a key may hold, given the API's routes (None: it is)."""
    routes = [r for r in routes if r.resource not in RESERVED]
    scope = _SCOPE.match(permission)
    if scope is not None:
        if scope["resource"] in RESERVED:
            return "API keys cannot manage API keys"
        if not any(r.resource == scope["resource"] for r in routes):
            return f"no resource {scope['resource']!r} in the API"
        if not any(_matches(permission, r) for r in routes):
            return f"{scope['resource']!r} has no routes for {scope['action']!r}"
        return None
    pattern = _ROUTE.match(permission)
    if pattern is None:
        return "not `resource:action` or `METHOD /path`"
    if pattern["method"] != "*" and pattern["method"] not in METHODS:
        return f"no method {pattern['method']!r}"
    if not any(_matches(permission, r) for r in routes):
        return "matches no route of the API"
    return None
