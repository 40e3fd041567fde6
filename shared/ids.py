"""Sortable ids (ULID)."""

import uuid

from ulid import ULID


def new_id() -> str:
    return str(ULID())


def derived_id(*parts: str) -> str:
    """A stable id made from other ids, so that a retried step makes the same id again."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kontakt:" + ":".join(parts)))
