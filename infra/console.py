"""What a person sees of the local runtime: one short line per request or invocation on the
console, each function's full log in a file of its own (`.kontakt/logs/<LogicalId>.log` under
`kontakt dev`, read with `kontakt logs <function>`).

A function's worker writes its output (Powertools' JSON log records, its metrics' EMF lines,
Python's warnings, tracebacks) to its log file and picks out what a person must see: the
warnings and errors its log records report (`Note`). The runtime prints, for each invocation,
the function, what it served (an HTTP route, the event types of a queue batch, a stream's
records, a schedule's job), its status and its duration; under the line, each error with its
correlation id, and each distinct warning the first time it occurs.

The lines go through `logging` ("kontakt.console"): `kontakt dev` prints them; a test's stack
keeps INFO lines off (they are not even formatted) while pytest keeps the warnings and errors
and shows them with a failing test.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("kontakt.console")

GATEWAY = "(gateway)"  # the function column of a request API Gateway answers itself
NOTES_PER_INVOCATION = 10  # an invocation that logs a warning per record still prints a few
KEPT_INVOCATIONS = 500  # the last invocations the console keeps for the /dev page (infra/devpage.py)
KEPT_EVENTS = 5000  # the bus events whose deliveries it keeps
_WHAT_WIDTH = 36
_INDENT = "  "
# What `warnings.showwarning` writes first: `path:line: Category: message`.
_PYTHON_WARNING = re.compile(r"^.*?:\d+: (?P<category>\w*Warning): (?P<message>.*)$")
_LEVELS = {"WARNING": "WARNING", "WARN": "WARNING", "ERROR": "ERROR", "CRITICAL": "ERROR", "FATAL": "ERROR"}


@dataclass(frozen=True)
class Note:
    """A warning or error a function's output reported."""

    level: str  # WARNING or ERROR
    message: str
    correlation_id: str = ""
    error: str = ""  # the exception's type and text, when the record carries one


def note_of(line: str) -> Note | None:
    """The warning or error one output line reports: a JSON log record of level WARNING or above,
    or the first line of a Python warning; None for anything else (INFO records, metrics, prints)."""
    if line.startswith("{"):
        if '"level":"INFO"' in line or '"level":"DEBUG"' in line or '"level"' not in line:  # most lines
            return None
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        level = _LEVELS.get(str(record.get("level", "")).upper())
        if level is None:
            return None
        error = _exception(str(record.get("exception_name") or ""), str(record.get("exception") or ""))
        return Note(level, str(record.get("message", "")), str(record.get("correlation_id") or ""), error)
    found = _PYTHON_WARNING.match(line)
    if found:
        return Note("WARNING", f"{found['category']}: {found['message']}")
    return None


def _exception(name: str, trace: str) -> str:
    """`Type: first line of its message`, from a Powertools record's exception name and traceback
    (whose last lines may be the message's further lines, as pydantic's are)."""
    if not name:
        return ""
    short = name.rsplit(".", 1)[-1]
    heading = re.compile(rf"^(?:[\w.]+\.)?{re.escape(short)}(?::\s*(?P<message>.*))?$")
    for line in reversed(trace.splitlines()):
        found = heading.match(line)
        if found:
            return f"{short}: {found['message']}" if found["message"] else short
    return short


class Notes:
    """The notes of one invocation: each distinct one once, at most NOTES_PER_INVOCATION."""

    def __init__(self) -> None:
        self._notes: dict[Note, None] = {}
        self._lock = threading.Lock()

    def add(self, note: Note) -> None:
        with self._lock:
            if len(self._notes) < NOTES_PER_INVOCATION:
                self._notes[note] = None

    def take(self) -> tuple[Note, ...]:
        with self._lock:
            taken = tuple(self._notes)
            self._notes.clear()
            return taken


# ---------------------------------------------------------------- what an invocation served


def describe(event: Any, result: Any, failed: bool) -> tuple[str, str]:
    """(what the invocation served, its status) for the console line."""
    if not isinstance(event, Mapping):
        return "invoke", "failed" if failed else "ok"
    if event.get("type") == "REQUEST" and "routeArn" in event:  # a Lambda authorizer: its decision
        http = (event.get("requestContext") or {}).get("http") or {}
        context = (result.get("context") if isinstance(result, Mapping) else None) or {}
        allowed = isinstance(result, Mapping) and result.get("isAuthorized") is True
        status = "failed" if failed else str(context.get("refused_status") or ("allow" if allowed else "deny"))
        return f"authorize {http.get('method', '?')} {event.get('rawPath', '')}", status
    if event.get("version") == "2.0" and "routeKey" in event:  # an HTTP API request
        http = (event.get("requestContext") or {}).get("http") or {}
        query = event.get("rawQueryString") or ""
        path = f"{event.get('rawPath', '')}{'?' + query if query else ''}"
        status = "500" if failed else str(result.get("statusCode", 200) if isinstance(result, Mapping) else 200)
        return f"{http.get('method', '?')} {path}", status
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        return _records(records, result, failed)
    if "triggerSource" in event:  # a Cognito trigger
        return str(event["triggerSource"]), "failed" if failed else "ok"
    return "invoke", "failed" if failed else "ok"


def _records(records: list[Any], result: Any, failed: bool) -> tuple[str, str]:
    source = str(records[0].get("eventSource", ""))
    prefix = ""
    if source == "aws:sqs":
        kinds = Counter(message_kind(str(r.get("body", ""))) for r in records)
    elif source == "aws:dynamodb":
        outbox = [_outbox_type(r) for r in records]
        prefix = "publish " if all(outbox) else ""  # an outbox publisher's batch: the events it puts
        kinds = Counter(t or str(r.get("eventName", "record")) for t, r in zip(outbox, records, strict=True))
    else:
        kinds = Counter(str(r.get("eventName", source or "record")) for r in records)
    what = prefix + ", ".join(f"{kind} x{count}" if count > 1 else kind for kind, count in kinds.most_common())
    if failed:
        return what, "failed"
    failures = result.get("batchItemFailures") if isinstance(result, Mapping) else None
    if failures:
        return what, f"{len(failures)}/{len(records)} failed"
    return what, "ok"


def message_kind(body: str) -> str:
    """What an SQS message is: an EventBridge event's detail-type, a job's name, an S3 record's event."""
    try:
        document = json.loads(body)
    except ValueError:
        return "message"
    if not isinstance(document, dict):
        return "message"
    if "detail-type" in document:
        return str(document["detail-type"])
    if "job" in document:
        return f"job {document['job']}"
    records = document.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        return str(records[0].get("eventName", "record"))
    return "message"


def _outbox_type(record: Mapping[str, Any]) -> str:
    """The event type of an outbox item's stream record (shared/store.py OutboxItem), else ""."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    event_type = (image.get("event_type") or {}).get("S") if isinstance(image, Mapping) else None
    return str(event_type or "")


def correlation_ids(event: Any) -> list[str]:
    """The correlation ids an event carries: an HTTP request's id, the envelopes' of a batch."""
    if not isinstance(event, Mapping):
        return []
    if event.get("version") == "2.0" and "routeKey" in event:
        from shared.conventions import request_id

        found = request_id(event)
        return [found] if found else []
    ids: list[str] = []
    for record in event.get("Records") or []:
        try:
            detail = json.loads(record.get("body", "")).get("detail") or {}
        except (ValueError, AttributeError):
            continue
        if isinstance(detail, dict) and detail.get("correlation_id"):
            ids.append(str(detail["correlation_id"]))
    return list(dict.fromkeys(ids))


# ---------------------------------------------------------------- what the console keeps


@dataclass(frozen=True)
class Invocation:
    """One invocation as the console told it, kept for the /dev page (infra/devpage.py)."""

    at: float  # epoch seconds, when it ended
    function: str
    what: str
    status: str
    ms: float
    cold: bool
    errors: tuple[str, ...]  # the error lines printed under it, without their indent


@dataclass(frozen=True)
class Delivery:
    """A bus event handed to a consumer in an SQS batch, and how that went for it."""

    function: str
    outcome: str  # delivered or failed
    ms: float  # the batch's invocation
    at: float
    cold: bool


def deliveries_of(event: Any, result: Any, failed: bool) -> list[tuple[list[str], str]]:
    """([the event's ids], outcome) for each EventBridge event an SQS batch carried: its event id and
    its envelope's id (a rule's input transformer may pass the detail alone)."""
    if not isinstance(event, Mapping):
        return []
    records = event.get("Records")
    if not isinstance(records, list) or not records or not isinstance(records[0], Mapping):
        return []
    if records[0].get("eventSource") != "aws:sqs":
        return []
    failures = result.get("batchItemFailures") if isinstance(result, Mapping) else None
    failed_ids = {str(f.get("itemIdentifier")) for f in failures or [] if isinstance(f, Mapping)}
    found = []
    for record in records:
        try:
            document = json.loads(str(record.get("body", "")))
        except ValueError:
            continue
        if not isinstance(document, dict):
            continue
        detail = document.get("detail") if "detail-type" in document else document
        keys = [str(document["id"])] if "detail-type" in document and document.get("id") else []
        if isinstance(detail, dict) and detail.get("id"):
            keys.append(str(detail["id"]))
        if keys:
            outcome = "failed" if failed or record.get("messageId") in failed_ids else "delivered"
            found.append((keys, outcome))
    return found


class Kept:
    """The last invocations and, by bus event id, the deliveries of each event."""

    def __init__(self) -> None:
        self._invocations: deque[Invocation] = deque(maxlen=KEPT_INVOCATIONS)
        self._deliveries: OrderedDict[str, list[Delivery]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, invocation: Invocation, deliveries: list[tuple[list[str], str]]) -> None:
        with self._lock:
            self._invocations.append(invocation)
            for keys, outcome in deliveries:
                delivery = Delivery(invocation.function, outcome, invocation.ms, invocation.at, invocation.cold)
                for key in keys:
                    self._deliveries.setdefault(key, []).append(delivery)
                    self._deliveries.move_to_end(key)
            while len(self._deliveries) > KEPT_EVENTS:
                self._deliveries.popitem(last=False)

    def invocations(self, limit: int = 50) -> list[Invocation]:
        """The last `limit`, newest first."""
        with self._lock:
            return list(reversed(self._invocations))[:limit]

    def deliveries(self, *keys: str) -> list[Delivery]:
        """The deliveries of the event known by any of these ids (event id, envelope id), oldest first."""
        with self._lock:
            found = {id(d): d for key in keys if key for d in self._deliveries.get(key, [])}
        return sorted(found.values(), key=lambda d: d.at)


# ---------------------------------------------------------------- the console


class ConsoleFormatter(logging.Formatter):
    """`HH:MM:SS.mmm  message`; a message's further lines indented under its first."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03d  %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\n", "\n" + " " * 14)


class Console:
    """Prints an invocation's line and notes; each distinct warning of a function once. Keeps the
    last invocations and the bus events' deliveries (`kept`) for the /dev page."""

    def __init__(self, functions: Iterable[str] = ()) -> None:
        self.width = max([len(GATEWAY), *(len(f) for f in functions)])
        self.kept = Kept()
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def invocation(
        self,
        function: str,
        event: Any,
        result: Any,
        error: Exception | None,
        notes: Iterable[Note],
        ms: float,
        cold: bool = False,
    ) -> None:
        shown = [self._note_line(function, note) for note in notes if self._shows(function, note)]
        errors = [n for n in notes if n.level == "ERROR"]
        if error is not None and not errors:  # the handler raised, timed out or its process died
            ids = correlation_ids(event)
            suffix = f"  (correlation id {', '.join(ids[:3])})" if ids else ""
            shown.append(f"{_INDENT}error: {error}{suffix}  -> kontakt logs {function}")
        level = logging.ERROR if error is not None or errors else logging.WARNING if shown else logging.INFO
        what, status = describe(event, result, error is not None)
        error_lines = tuple(line.strip() for line in shown if line.strip().startswith("error:"))
        invocation = Invocation(time.time(), function, what, status, round(ms, 1), cold, error_lines)
        self.kept.add(invocation, deliveries_of(event, result, error is not None))
        if not log.isEnabledFor(level):
            return
        line = self._line(function, what, status, ms) + ("  cold" if cold else "")
        log.log(level, "\n".join([line, *shown]))

    def request(self, method: str, path: str, status: int, ms: float, reason: str) -> None:
        """A request API Gateway answers without a function (no route, no token, throttled, ...)."""
        if log.isEnabledFor(logging.INFO):
            log.info("%s  %s", self._line(GATEWAY, f"{method} {path}", str(status), ms), reason)

    def _line(self, function: str, what: str, status: str, ms: float) -> str:
        if len(what) > _WHAT_WIDTH:
            what = what[: _WHAT_WIDTH - 1] + "…"
        return f"{function:<{self.width}}  {what:<{_WHAT_WIDTH}}  {status:>6}  {ms:6.0f} ms"

    def _shows(self, function: str, note: Note) -> bool:
        if note.level == "ERROR":
            return True
        with self._lock:
            key = (function, note.message)
            if key in self._warned:
                return False
            self._warned.add(key)
            return True

    @staticmethod
    def _note_line(function: str, note: Note) -> str:
        if note.level == "WARNING":
            return f"{_INDENT}warning: {note.message}  (shown once; kontakt logs {function})"
        text = f"{note.message}: {note.error}" if note.error else note.message
        suffix = f"  (correlation id {note.correlation_id})" if note.correlation_id else ""
        return f"{_INDENT}error: {text}{suffix}  -> kontakt logs {function}"
