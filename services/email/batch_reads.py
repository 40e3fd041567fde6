"""The feedback function's one read per SQS batch, handed out item by item (issue 18).

`services/email/feedback.py` registers what the batch reads (`fill_with`); its reports and the Send
proofs that `services/email/sending.py` settles take their items here (`read_once`). Each item is
handed out once unless the reader may not write it (`keep`, then `forget` when it does), so a second
report about the same message, or a retry after a conflict, reads it again after the first write.
Outside a batch (`shared/batch_scope.py`) nothing is held: every read goes to the table.
"""

from __future__ import annotations

from collections.abc import Callable

from services.email.store import Record
from shared import batch_scope
from shared.observability import logger

Key = tuple[str, str]
_HELD = "email-batch-reads"
_fill: Callable[[], dict[Key, Record | None]] | None = None


def fill_with(fill: Callable[[], dict[Key, Record | None]]) -> None:
    """What a batch reads, the first time one of its readers asks."""
    global _fill
    _fill = fill


def _held() -> dict[Key, Record | None]:
    def first() -> dict[Key, Record | None]:
        if _fill is None:
            return {}
        try:
            return _fill()
        except Exception:  # each reader reads for itself then
            logger.exception("batch read failed")
            return {}

    held: dict[Key, Record | None] = batch_scope.kept(_HELD, first)
    return held


def read_once(keys: list[Key], keep: bool = False) -> list[Record]:
    """The items of `keys`: those the batch's read holds, the rest read now (one consistent BatchGet)."""
    held = _held()
    items: list[Record] = []
    missing = []
    for key in keys:
        if key in held:
            item = held[key] if keep else held.pop(key)
            if item is not None:
                items.append(item)
        else:
            missing.append(key)
    if missing:
        items += Record.batch_get(missing, consistent_read=True)
    return items


def forget(keys: list[Key]) -> None:
    """Items about to be written: later readers of the batch read them again."""
    held = _held()
    for key in keys:
        held.pop(key, None)
