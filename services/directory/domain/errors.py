"""Errors of the directory domain.

The error classes and the per-field `FieldError` shape are the kernel's (`shared.errors`), so
that handlers map every `DomainError` to an HTTP problem in one place. This module adds the
conversion of a pydantic `ValidationError` into `FieldError`s with clean dotted paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import ValidationError

from shared.errors import Conflict, DomainError, FieldError, ValidationFailed, register_union_tags

__all__ = [
    "UNION_TAGS",
    "Conflict",
    "DomainError",
    "FieldError",
    "ValidationFailed",
    "field_errors_from_validation",
    "loc_to_path",
]

# Tags of the condition union (`op`): pydantic puts the tag into an error's location
# (conditions.0.equals.value); API clients never send it as a path, so it is dropped.
UNION_TAGS: frozenset[str] = frozenset(
    {
        "equals",
        "not_equals",
        "in",
        "contains",
        "is_empty",
        "date_before",
        "date_after",
        "in_class",
        "in_classification_type",
    }
)
register_union_tags(UNION_TAGS)


def loc_to_path(loc: Iterable[int | str], union_tags: frozenset[str] = UNION_TAGS) -> str:
    """Dotted path of a pydantic error location, without discriminated-union tags."""
    parts: list[str] = []
    previous_was_index = False
    for item in loc:
        if previous_was_index and isinstance(item, str) and item in union_tags:
            previous_was_index = False
            continue
        previous_was_index = isinstance(item, int)
        parts.append(str(item))
    return ".".join(parts)


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
