"""`Idempotency-Key` on every POST that needs a login: a retried request gets the first answer,
and the command runs once.

A client that sends `Idempotency-Key: <up to 255 visible ASCII characters>` on a POST (a create
or an action) may send the same request again after a timeout or a dropped connection:

- the first request claims the key (a record in the service's own table, keyed by the tenant,
  the caller and the key, kept 24 hours), runs, and its answer is kept when it succeeded (below
  400); the command's first transaction marks the claim committed (`shared.store.joining`), so
  the key is taken exactly when the command's writes are;
- a repeat of the same request (same method, path, query and JSON body) is not run again: it is
  answered with the first answer (status, headers such as `Location`, body) and
  `Idempotent-Replayed: true`;
- the same key on another request (another body, path or method) is a 422 problem naming
  `header.idempotency-key` (code `reused`); a repeat while the first is still running is a 409
  problem (retry later);
- a request answered with an error (4xx or 5xx) releases its key: it changed nothing (a command
  that fails after a write undoes it), so a retry once the cause is fixed runs.

A request without the header, without a login (public links) or with another method is not
touched. `document` adds the header to the OpenAPI document of each such operation.
Why the kernel's record and not Powertools' idempotency utility: docs/decisions.md.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.attributes import BinaryAttribute, BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from shared import clock
from shared.auth import KeysUnavailable, Unauthenticated, from_http_event
from shared.errors import Conflict, DomainError, FieldError, ValidationFailed, problem_body
from shared.ids import new_id
from shared.observability import logger
from shared.store import Joined, TableItem, UnitOfWork, joining, tenant_key

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
FIELD = "header.idempotency-key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[!-~]{1,255}$"  # visible ASCII, no spaces: a UUID, a ULID, a hash
RETENTION = timedelta(hours=24)
# How long a claim holds a running request: longer than an API function runs (its timeout is
# 30 s, API Gateway's integration timeout 30 s). A claim older than this and never committed
# belongs to a request that died; a retry of the same request takes it over.
LEASE_SECONDS = 60
# The largest answer body kept (compressed): a DynamoDB item holds at most 400 KB.
MAX_KEPT_BYTES = 350_000
METHODS = frozenset({"POST"})
PROBLEM_JSON = "application/problem+json"

RUNNING, COMMITTED, DONE = "running", "committed", "done"


class IdempotencyItem(TableItem):
    """A claimed key: `T#<tenant>#IDEMPOTENCY#<hash of caller and key>` / `IDEMPOTENCY`."""

    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()
    token = UnicodeAttribute()  # the claiming request's: only it commits or finishes the claim
    lease_until = NumberAttribute()
    status = NumberAttribute(null=True)
    headers = UnicodeAttribute(null=True)  # JSON
    body = BinaryAttribute(null=True, legacy_encoding=False)  # zlib
    base64_body = BooleanAttribute(null=True)
    kept = BooleanAttribute(null=True)  # False: the answer was too large to keep
    expires_at = TTLAttribute()

    @staticmethod
    def key(tenant_id: str, user_id: str, key: str) -> str:
        digest = hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()
        return tenant_key(tenant_id, "IDEMPOTENCY", digest)


SK = "IDEMPOTENCY"


class TakenOver(Conflict):
    """The claim expired and a retry took it over: this request must not commit."""

    def __init__(self) -> None:
        super().__init__("A newer request with this Idempotency-Key took over; this one was not carried out.")


@dataclass
class Request:
    tenant_id: str
    user_id: str
    key: str
    fingerprint: str


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    return next((str(v) for k, v in headers.items() if k.lower() == name.lower()), None)


def _canonical_body(event: Mapping[str, Any]) -> str:
    body = str(event.get("body") or "")
    if event.get("isBase64Encoded"):
        with contextlib.suppress(ValueError):
            body = base64.b64decode(body).decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return body


def fingerprint(event: Mapping[str, Any]) -> str:
    """What makes two requests the same one: method, path, query and the JSON body (its meaning:
    key order and white space aside)."""
    http = event.get("requestContext", {}).get("http", {})
    method = str(http.get("method") or "")
    parts = [method, str(event.get("rawPath") or ""), str(event.get("rawQueryString") or ""), _canonical_body(event)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _problem(error: DomainError) -> dict[str, Any]:
    body = problem_body(error.status, error.code, error.title, error.detail, error.errors)
    return {"statusCode": error.status, "headers": {"Content-Type": PROBLEM_JSON}, "body": json.dumps(body)}


def _reused() -> DomainError:
    return ValidationFailed.on(FIELD, "This key was used for a different request.", "reused")


def handle(event: Mapping[str, Any], answer: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Answer an API request (`answer()` runs it), honouring its `Idempotency-Key`."""
    method = str(event.get("requestContext", {}).get("http", {}).get("method") or "").upper()
    key = _header(event, HEADER)
    if key is None or method not in METHODS:
        return answer()
    try:
        caller = from_http_event(dict(event))
    except (Unauthenticated, KeysUnavailable):
        return answer()  # public (a login route's request was refused before: `shared.api.Resolver`)
    if not re.fullmatch(KEY_PATTERN, key):
        message = f"1 to {MAX_KEY_LENGTH} visible ASCII characters (no spaces)"
        return _problem(
            ValidationFailed(
                "The Idempotency-Key header is not valid.", [FieldError(field=FIELD, message=message, code="invalid")]
            )
        )
    request = Request(caller.tenant_id, caller.user_id, key, fingerprint(event))
    claimed = _claim(request)
    if not isinstance(claimed, Claim):
        return claimed
    try:
        with joining(claimed):
            result = answer()
    except BaseException:
        claimed.release()
        raise
    if int(result.get("statusCode") or 500) < 400:
        claimed.finish(result)
    else:
        claimed.release()
    return result


class Claim(Joined):
    """A key this request holds while it runs."""

    def __init__(self, item: IdempotencyItem) -> None:
        self.item = item
        self.done = False

    def stage(self, uow: UnitOfWork) -> None:
        if not self.done:
            condition = IdempotencyItem.token == self.item.token
            uow.update(self.item, [IdempotencyItem.state.set(COMMITTED)], condition=condition, on_conflict=TakenOver)

    def committed(self) -> None:
        self.done = True

    def finish(self, result: dict[str, Any]) -> None:
        """Keep the answer for replays."""
        headers = dict(result.get("headers") or {})
        body = str(result.get("body") or "").encode()
        packed = zlib.compress(body)
        item = self.item
        item.state, item.status, item.headers = DONE, int(result["statusCode"]), json.dumps(headers)
        item.base64_body = bool(result.get("isBase64Encoded"))
        item.kept = len(packed) <= MAX_KEPT_BYTES
        item.body = packed if item.kept else None
        try:
            item.save(condition=IdempotencyItem.token == item.token)
        except PutError:  # taken over meanwhile: the newer request keeps its own answer
            logger.warning("idempotency key taken over before its answer was kept", extra={"pk": item.pk})

    def release(self) -> None:
        """Free the key: the request changed nothing (or undid what it changed)."""
        try:
            self.item.delete(condition=IdempotencyItem.token == self.item.token)
        except Exception:  # taken over meanwhile, or the table unreachable: the lease frees it
            logger.warning("idempotency key not released", extra={"pk": self.item.pk}, exc_info=True)


def _claim(request: Request) -> Claim | dict[str, Any]:
    """Take the key, or answer from its record (a replay, 409 running, 422 another request)."""
    pk = IdempotencyItem.key(request.tenant_id, request.user_id, request.key)
    for _ in range(3):
        now = clock.now()
        item = IdempotencyItem(
            pk=pk,
            sk=SK,
            kind="idempotency",
            fingerprint=request.fingerprint,
            state=RUNNING,
            token=new_id(),
            lease_until=int(clock.epoch()) + LEASE_SECONDS,
            expires_at=now + RETENTION,
        )
        free = (
            IdempotencyItem.pk.does_not_exist()
            | (IdempotencyItem.expires_at < now)  # TTL deletes within days, not at once
            | (
                (IdempotencyItem.state == RUNNING)
                & (IdempotencyItem.lease_until < int(clock.epoch()))
                & (IdempotencyItem.fingerprint == request.fingerprint)
            )
        )
        try:
            item.save(condition=free)
            return Claim(item)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        try:
            found = IdempotencyItem.get(pk, SK, consistent_read=True)
        except IdempotencyItem.DoesNotExist:
            continue  # released in between: claim it
        return _answer_from(found, request)
    return _problem(Conflict("A request with this Idempotency-Key is in progress; retry later."))


def _answer_from(found: IdempotencyItem, request: Request) -> dict[str, Any]:
    if found.fingerprint != request.fingerprint:
        return _problem(_reused())
    if found.state == DONE and found.kept:
        headers = json.loads(found.headers or "{}")
        headers[REPLAYED] = "true"
        body = zlib.decompress(found.body or b"").decode()
        return {
            "statusCode": int(found.status or 200),
            "headers": headers,
            "body": body,
            "isBase64Encoded": bool(found.base64_body),
        }
    if found.state == DONE or (found.state == COMMITTED and found.lease_until < clock.epoch()):
        detail = (
            "The request with this Idempotency-Key was carried out, but its answer was not kept; it is not run again."
        )
        return _problem(Conflict(detail))
    return _problem(Conflict("A request with this Idempotency-Key is in progress; retry later."))


def document(document: dict[str, Any]) -> dict[str, Any]:
    """The `Idempotency-Key` header on every operation `handle` honours (a POST that needs a login),
    and `Idempotent-Replayed` on its success answers."""
    default_security = document.get("security")
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method.upper() not in METHODS or not isinstance(operation, dict):
                continue
            if operation.get("security", default_security) in (None, [], [{}]):
                continue
            parameters = operation.setdefault("parameters", [])
            parameters[:] = [p for p in parameters if str(p.get("name", "")).lower() != HEADER.lower()]
            parameters.append(PARAMETER)
            for status, response in operation.get("responses", {}).items():
                if str(status).startswith("2") and "$ref" not in response:
                    response.setdefault("headers", {})[REPLAYED] = REPLAYED_HEADER
    return document


PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    "description": (
        "A key of the client's choosing (e.g. a UUID) that makes a retry safe: the same request sent again "
        "with the same key within 24 hours is not run again but answered with the first success answer, "
        f"with `{REPLAYED}: true`. The same key on another request (another body or path) is a 422 naming "
        f"`{FIELD}` (code `reused`); a repeat while the first is still running is a 409 (retry later). "
        "An error answer releases the key."
    ),
}
REPLAYED_HEADER = {
    "description": "`true` when this is the kept answer of an earlier request with the same Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}
