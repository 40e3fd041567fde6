"""Errors of the directory domain.

The error classes and the per-field `FieldError` shape are the kernel's (`shared.errors`), so
that handlers map every `DomainError` to an HTTP problem in one place. This module adds the
conversion of a pydantic `ValidationError` into `FieldError`s with clean dotted paths.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from shared.errors import Conflict, DomainError, FieldError, ValidationFailed, loc_to_path

__all__ = [
    "Conflict",
    "DomainError",
    "FieldError",
    "ValidationFailed",
    "field_errors_from_validation",
    "loc_to_path",
]


def _clean_message(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def field_errors_from_validation(
    exc: ValidationError,
    *,
    prefix: str = "",
    rename: Mapping[str, str] | None = None,
) -> list[FieldError]:
    """Convert a pydantic `ValidationError` into `FieldError`s.

    `rename` maps the first path element (a model field) to another name, e.g. a CSV header.
    """
    errors: list[FieldError] = []
    for err in exc.errors():
        path = loc_to_path(err["loc"])
        if rename:
            head, _, tail = path.partition(".")
            head = rename.get(head, head)
            path = f"{head}.{tail}" if tail else head
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        errors.append(FieldError(field=path, message=_clean_message(err["msg"]), code=err["type"]))
    return errors
