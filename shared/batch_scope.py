"""Values kept for the length of one SQS batch of a consumer, and no longer.

`shared.consumer.consume` opens the scope around each batch; a handler keeps there what every event
of the batch would otherwise read again (a tenant's service caller, whose settings it reads once).
Outside a batch (an API request, a test calling a handler) nothing is kept: each call makes its own.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_values: dict[Hashable, Any] | None = None
_at_end: list[Callable[[], None]] | None = None


@contextmanager
def batch() -> Iterator[None]:
    global _values, _at_end
    saved, _values = _values, {}
    saved_end, _at_end = _at_end, []
    try:
        yield
        for action in _at_end:  # the batch's work is done (not run when it raised)
            action()
    finally:
        _values, _at_end = saved, saved_end


def at_end(action: Callable[[], None]) -> None:
    """Run `action` once the batch's events are handled (at once outside a batch): e.g. one
    SendMessageBatch for what every event of the batch committed, rather than one per event."""
    if _at_end is None:
        action()
    else:
        _at_end.append(action)


def kept(key: Hashable, make: Callable[[], T]) -> T:
    """`make()`, made once per batch for `key` (every call outside a batch)."""
    if _values is None:
        return make()
    if key not in _values:
        _values[key] = make()
    value: T = _values[key]
    return value


_TOGETHER: set[Callable[..., Any]] = set()


def together(handle: Callable[..., T]) -> Callable[..., T]:
    """Mark an event handler whose events of one batch may commit in one transaction.

    For a handler whose writes hold whatever the batch's other events write: conditions on the
    items themselves (a put if absent, a check), additions to counter cells (`UnitOfWork.add`),
    nothing written from a read that another event of the batch could change; and no effect outside
    its unit of work (queueing goes through `UnitOfWork.after_commit`), so an event it stages
    nothing for needs no dedupe marker. Any other handler's events commit one by one, each after
    the one before it (shared/consumer.py)."""
    _TOGETHER.add(handle)
    return handle


def is_together(handle: Callable[..., Any]) -> bool:
    return handle in _TOGETHER
