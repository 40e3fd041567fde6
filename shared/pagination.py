"""Pages with an opaque, tamper-evident cursor.

A cursor is the position after the last item returned (base64url JSON) plus an HMAC over it and
the list it belongs to, so a client can neither forge a position nor reuse a cursor on another
list or tenant.
"""

from __future__ import annotations  # no `Page[Any]` / `Page[S]` class made at import for the annotations below

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from shared.errors import BadRequest, FieldError

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Deleted(BaseModel):
    """A record deleted since the `updated_since` a list was asked with (its tombstone)."""

    id: str = Field(description="The id of the deleted record")
    deleted: Literal[True] = Field(description="Always true: the record is gone")
    deleted_at: datetime = Field(description="When it was deleted (UTC)")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    deleted: list[Deleted] | None = Field(
        default=None,
        description=(
            "Only with `updated_since`: the records deleted since then (tombstones, kept 30 days), in "
            "the same order as `items` and paged with them. Apply them before `items`."
        ),
    )

    # No return type: a wrap serializer's return type would replace the fields in the schema.
    @model_serializer(mode="wrap")
    def _without_deleted(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        """`deleted` only in a sync answer (an `updated_since` list); other lists stay as they were."""
        data: dict[str, Any] = handler(self)
        if data.get("deleted") is None:
            data.pop("deleted", None)
        return data


S = TypeVar("S", bound=BaseModel)


def summaries(page: Page[Any], summary: type[S]) -> Page[S]:
    """The page with each record as its list item: `summary`, a model of the record's fields a list
    shows (no bodies, no growing lists: tests/e2e/test_list_sizes.py), the full record at its own GET."""
    items = [summary.model_validate(item.model_dump() if isinstance(item, BaseModel) else item) for item in page.items]
    return Page[summary](items=items, next_cursor=page.next_cursor, deleted=page.deleted)  # type: ignore[valid-type]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, scope: str, payload: bytes) -> str:
    return _b64(hmac.new(key, scope.encode() + b"\0" + payload, hashlib.sha256).digest()[:16])


def encode_cursor(position: dict[str, Any], scope: str, key: bytes) -> str:
    payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_mac(key, scope, payload)}"


def decode_cursor(cursor: str, scope: str, key: bytes) -> dict[str, Any]:
    """The position a cursor names; 400 naming `query.cursor` if it was altered or is foreign."""
    try:
        body, mac = cursor.split(".", 1)
        payload = _unb64(body)
        if not hmac.compare_digest(mac.encode(), _mac(key, scope, payload).encode()):
            raise ValueError("signature")
        position = json.loads(payload)
        if not isinstance(position, dict):
            raise ValueError("shape")
        return position
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(
            "The cursor is not valid for this list.",
            [FieldError(field="query.cursor", message="invalid or tampered cursor", code="invalid_cursor")],
        ) from exc
