"""Conditional writes (RFC 9110 §13.1.1 If-Match) and the ETag of a record, for every service API.

A record's entity tag is its version (`DataItem.version`, bumped by every write of it) as a strong
ETag, `"3"`: the representation an API answers is made from that record alone, so the version
changes whenever the representation does (RFC 9110 §8.8.1). It is strong because If-Match compares
strongly (§13.1.1): a weak tag (`W/"3"`) never matches.

Per request (`middleware`, one of the app's middlewares in `shared.api.create_app`):
- `If-Match` is read once: `*` or a list of entity tags. Without it a write proceeds as before.
- The record the request addresses is its *target*: on a route whose path ends in a parameter
  (`/accounts/<account_id>`, `/contact-orders/<o>/bookings/<b>`), the record with that id that the
  command reads (`DataStore.get`) and writes; or the record a command names with `address` (a
  tenant setting: `Caller.address_setting`; a record keyed by two parameters), evaluated at once.
- `UnitOfWork.commit` evaluates `If-Match` on the target before it writes (`before_commit`); a
  false condition is a 412 `precondition_failed` problem and nothing is written. The unit commits
  under the target's version condition, so check and write are one; a command retried after a
  concurrent write (`shared.service.commit`) reads the record again and is evaluated again.
  A unit with no target is evaluated on the first stored record it replaces or deletes, and fails
  when it writes none (`*` holds only for a record that exists): a write never ignores If-Match.
- A request that wrote nothing (a GET, a PATCH that changes nothing) is evaluated on its target
  when the command returns (`after_handler`).
- A 2xx answer to GET, PUT or PATCH carries `ETag` with the target's version after the write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from shared.errors import PreconditionFailed

IF_MATCH = "If-Match"
ETAG = "ETag"
ANY = "*"
# An entity tag: optional W/, then a quoted opaque tag (RFC 9110 §8.8.3: etagc is %x21 / %x23-7E /
# obs-text); `If-Match` is `*` or a comma-separated list of them.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')
# The header's value as the OpenAPI documents state it (a client generator validates against it).
IF_MATCH_PATTERN = r'^ *(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*) *$'
TAGGED = frozenset({"GET", "PUT", "PATCH"})


def etag(version: int | None) -> str:
    """The strong entity tag of a record at `version`."""
    return f'"{version or 0}"'


@dataclass(frozen=True)
class IfMatch:
    """A parsed If-Match: any current record (`*`), or the strong tags listed (weak ones never match)."""

    any: bool = False
    tags: frozenset[str] = frozenset()

    def matches(self, version: int | None) -> bool:
        """Whether a record at `version` (None: there is no record) meets the condition."""
        if version is None:
            return False
        return self.any or etag(version) in self.tags


def parse_if_match(value: str) -> IfMatch:
    """The condition an If-Match header states. A malformed value matches nothing (the condition
    cannot be true), so a write that carries one is refused rather than done unconditionally."""
    if value.strip() == ANY:
        return IfMatch(any=True)
    tags: set[str] = set()
    for part in _split(value):
        found = _ENTITY_TAG.fullmatch(part)
        if found is None:
            return IfMatch()
        if not found.group(1):  # strong comparison: a weak tag matches no current tag
            tags.add(f'"{found.group(2)}"')
    return IfMatch(tags=frozenset(tags))


def _split(value: str) -> list[str]:
    """The list's members (a comma inside a quoted tag does not split it)."""
    parts, current, quoted = [], "", False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


@dataclass
class Request:
    """What one request's conditional handling knows."""

    method: str
    if_match: IfMatch | None = None
    path_id: str | None = None  # the route's last path parameter, when its path ends in one
    target: Any = None  # the DataItem the request addresses
    named: bool = False  # the target was named by the command (`address`), not found by its id
    evaluated: bool = False
    exempt: int = 0


_current: ContextVar[Request | None] = ContextVar("kontakt_precondition", default=None)


@contextmanager
def request(method: str, if_match: str | None, path_id: str | None) -> Iterator[Request]:
    """The conditional context of one request (the middleware opens it; tests may too)."""
    condition = parse_if_match(if_match) if if_match is not None else None
    token = _current.set(Request(method=method.upper(), if_match=condition, path_id=path_id))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def _evaluate(state: Request, record: Any) -> None:
    state.evaluated = True
    if state.if_match is not None and not state.if_match.matches(getattr(record, "version", None)):
        raise PreconditionFailed(_detail(state.if_match))


def address(record: Any) -> None:
    """`record` is what the request is about (a record not found by the path's id: a tenant
    setting, a record keyed by several parameters): If-Match is evaluated on it now (412 on a
    mismatch) and its version is the answer's ETag."""
    state = _current.get()
    if state is None:
        return
    state.target, state.named = record, True
    _evaluate(state, record)


def loaded(record: Any) -> None:
    """A record `DataStore.get` read: the target when its id is the route's last path parameter
    (the last one read: a retried command reads its record again)."""
    state = _current.get()
    if state is None or state.named or state.path_id is None:
        return
    if getattr(record, "record_id", None) == state.path_id:
        state.target = record


def target() -> Any:
    """The record the current request addressed, as it was read (None outside a request or before)."""
    state = _current.get()
    return state.target if state is not None else None


@contextmanager
def unconditional() -> Iterator[None]:
    """Writes that are not the request's own (a tenant's default settings installed on its first
    request): `before_commit` leaves them alone."""
    state = _current.get()
    if state is not None:
        state.exempt += 1
    try:
        yield
    finally:
        if state is not None:
            state.exempt -= 1


def before_commit(written: list[tuple[Any, bool]]) -> None:
    """A unit of work is about to commit `written`: the records it saves or deletes, in order, each
    with whether it is a stored one written under its version condition (False: a new record).

    The target is the record the command named, else the written record with the path's id, else
    the one read by it. With If-Match it must be a stored record whose version matches; with no
    target the first stored record written stands in, and a unit that writes none fails the
    condition (RFC 9110: it holds only for a current representation). The version condition of
    the written target makes the check and the write one."""
    state = _current.get()
    if state is None or state.exempt:
        return
    chosen, stored = state.target, state.target is not None
    if not state.named:
        found = [(r, s) for r, s in written if getattr(r, "record_id", None) == state.path_id]
        if found:  # else the record read by the path's id (a command that writes its parts first)
            chosen, stored = found[0]
            state.target = chosen
    if state.if_match is None:
        return
    if chosen is None:
        existing = [r for r, s in written if s]
        chosen, stored = (existing[0], True) if existing else (None, False)
    state.evaluated = True
    if chosen is None or not stored:
        raise PreconditionFailed("The record does not exist, so the If-Match condition is false.")
    _evaluate(state, chosen)


def after_handler() -> None:
    """The command is done: If-Match not evaluated by a write (nothing was written: a GET, a no-op
    PATCH) is evaluated on the record the request read."""
    state = _current.get()
    if state is not None and state.if_match is not None and not state.evaluated and state.target is not None:
        _evaluate(state, state.target)


def _detail(condition: IfMatch) -> str:
    if condition.any:
        return "The record does not exist, so If-Match: * is false."
    return "The record changed since it was read (its ETag is not the one in If-Match); read it again and retry."


def tag_response(headers: dict[str, Any], status: int) -> None:
    """Put the target's ETag on a successful answer to GET, PUT or PATCH."""
    state = _current.get()
    if state is None or state.target is None or state.method not in TAGGED or not 200 <= status < 300 or status == 204:
        return
    headers[ETAG] = etag(getattr(state.target, "version", None))


def middleware(app: Any, next_middleware: Callable[[Any], Any]) -> Any:
    """The app middleware: If-Match read once per request, the ETag put on the answer."""
    event = app.current_event
    headers: Mapping[str, Any] = event.headers or {}
    value = next((str(v) for k, v in headers.items() if k.lower() == "if-match"), None)
    route, arguments = app.context.get("_route"), app.context.get("_route_args") or {}
    last = re.fullmatch(r".*/<(\w+)>/?", str(route.path)) if route is not None else None  # ends in a parameter
    path_id = str(arguments[last.group(1)]) if last and last.group(1) in arguments else None
    with request(event.http_method, value, path_id):
        response = next_middleware(app)
        after_handler()
        tag_response(response.headers, response.status_code)
        return response


# ----------------------------------------------------------------------------- OpenAPI


IF_MATCH_PARAMETER = {
    "name": IF_MATCH,
    "in": "header",
    "required": False,
    "description": (
        "Write only if the record is still at this version: its `ETag` from a GET or an earlier "
        'write (e.g. `"3"`), a list of them, or `*` for any existing record. On a mismatch the '
        "answer is 412 `precondition_failed` and nothing is written. Without it the write is "
        "unconditional (the last write wins)."
    ),
    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN, "maxLength": 1024},
}
ETAG_HEADER = {
    "description": (
        'The record\'s version as a strong entity tag (`"3"`): send it back in `If-Match` to write only that version'
    ),
    "schema": {"type": "string", "pattern": r'^"[0-9]+"$'},
}
CONDITIONAL = frozenset({"put", "patch", "delete"})


def document_conditions(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with If-Match on every PUT, PATCH and DELETE, and the ETag header on the
    success answers of GET, PUT and PATCH at a path where the record can be written conditionally."""
    for operations in document.get("paths", {}).values():
        writable = {m for m in operations if m in CONDITIONAL}
        if not writable:
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            if method in CONDITIONAL:
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == IF_MATCH and p.get("in") == "header" for p in parameters):
                    parameters.append(dict(IF_MATCH_PARAMETER))
            if method in {"get", "put", "patch"}:
                for status, response in operation.get("responses", {}).items():
                    if str(status).startswith("2") and str(status) != "204" and "$ref" not in response:
                        response.setdefault("headers", {})[ETAG] = dict(ETAG_HEADER)
    return document
