"""Domain errors, and their one mapping to `application/problem+json` (RFC 9457)."""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

# Tags of discriminated unions: pydantic puts the tag into an error's location
# (`conditions.0.equals.value`); clients never send it as a path, so it is dropped.
_union_tags: set[str] = set()


_body_tags: set[str] = set()


def register_union_tags(tags: Iterable[str], *, body: bool = False) -> None:
    """Declare the tag values of a discriminated union, to be left out of error paths; `body`: of a
    request body that is itself such a union (its tag leads every error's path)."""
    (_body_tags if body else _union_tags).update(tags)


class FieldError(BaseModel):
    field: str
    message: str
    code: str = "invalid"


class Problem(BaseModel):
    """The body of every error response (`application/problem+json`, RFC 9457)."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    instance: str | None = Field(None, description="The request's path (RFC 9457: this occurrence)")
    errors: list[FieldError] | None = None
    correlation_id: str | None = Field(
        None, description="The request's id, as its `X-Request-Id` header: quote it when reporting a problem"
    )


class DomainError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []

    def extensions(self) -> dict[str, Any]:
        """RFC 9457 extension members of the problem body (none but where a subclass adds them)."""
        return {}


class BadRequest(DomainError):
    pass


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class PaymentRequired(DomainError):
    """The tenant's prepaid credits do not cover the request (SMS credits)."""

    status, code, title = 402, "insufficient_credits", "Insufficient credits"


class Merged(DomainError):
    """The record was merged into another (`shared/merges.py`): a GET answers 301 with `Location` on
    the survivor (the same path, its id in place of the merged one), any other method 410; both
    name the survivor in `survivor_id`, so an old link or a late request finds the record."""

    status, code, title = 410, "merged", "Gone"

    def __init__(self, kind: str, record_id: str, survivor_id: str) -> None:
        super().__init__(f"The {kind.replace('_', ' ')} {record_id} was merged into {survivor_id}.")
        self.record_id = record_id
        self.survivor_id = survivor_id

    def extensions(self) -> dict[str, Any]:
        return {"survivor_id": self.survivor_id}


class PreconditionFailed(DomainError):
    """An If-Match condition is false: the record changed since the client read it (RFC 9110 §13.1.1)."""

    status, code, title = 412, "precondition_failed", "Precondition failed"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(DomainError):
    status, code, title = 422, "validation_failed", "Validation failed"

    @classmethod
    def on(cls, field: str, message: str, code: str = "invalid") -> "ValidationFailed":
        return cls(message, [FieldError(field=field, message=message, code=code)])


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://kontakt.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    if correlation_id:
        body["correlation_id"] = correlation_id
    return body


def loc_to_path(loc: Iterable[int | str]) -> str:
    """Dotted path of a pydantic error location, without a registered union tag after a list index
    or right after `body` (a body that is itself a union)."""
    parts: list[str] = []
    previous: Any = None
    for part in loc:
        tagged = isinstance(previous, int) and part in _union_tags
        leading = previous == "body" and parts == ["body"] and part in _body_tags
        if not (isinstance(part, str) and (tagged or leading)):
            parts.append(str(part))
        previous = part
    return ".".join(parts)


def field_errors_from_pydantic(errors: Any) -> list[FieldError]:
    """Turn pydantic/Powertools validation errors into per-field errors.

    A body field reads `name` or `conditions.0.value`; a parameter keeps its place, `query.limit`.
    A registered union tag right after a list index is left out (`conditions.0.equals.value`).
    """
    result = []
    for error in errors:
        loc = loc_to_path(error.get("loc", ())).split(".")
        if loc and loc[0] == "body":
            loc = loc[1:]
        result.append(
            FieldError(
                field=".".join(part for part in loc if part) or "body",
                message=str(error.get("msg", "invalid")),
                code=str(error.get("type", "invalid")),
            )
        )
    return result
