"""A batch's reads and writes in as few DynamoDB calls as possible (the senders of email and SMS).

- `read_by_key`: the items of many keys, of any kinds, in one consistent BatchGetItem (pynamodb
  pages more than 100 keys and asks again for unprocessed ones).
- `commit_together`: the units of work of a batch (one per message: its claim, or its settlement)
  committed in as few transactions as possible. The units are packed into transactions of at most
  MAX_TRANSACTION_ITEMS items (additions to one item, `UnitOfWork.add_to`, summed: a tenant's
  balance charged for ten messages is one update). When a transaction is refused because the
  condition of some units failed (another writer got to their items first: a receipt settled the
  message, another delivery claimed it), those units are left out with the error their own commit
  would raise, and the others commit in one more transaction, reading nothing again. A conflict
  with another writer's transaction at the same time is tried again (after a short random wait);
  after ATTEMPTS, or when the joined transaction fails for another reason, the units commit one
  by one, each answering for itself.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, TypeVar

from pynamodb.models import Model

from shared import clock
from shared.observability import logger
from shared.store import MAX_TRANSACTION_ITEMS, ConcurrentUpdate, UnitOfWork

ATTEMPTS = 5
M = TypeVar("M", bound=Model)


def read_by_key(model: type[M], keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], M]:
    """The items of `keys` (pk, sk) that exist, by key: one consistent BatchGetItem per 100 keys."""
    unique = list(dict.fromkeys(keys))
    if not unique:
        return {}
    items: Any = model.batch_get(unique, consistent_read=True)
    return {(str(item.pk), str(item.sk)): item for item in items}


def commit_together(units: Sequence[UnitOfWork]) -> list[Exception | None]:
    """Commit every unit (see the module); per unit, None when it committed, else the exception
    its own commit raised (its condition failed: the Settled, ConcurrentUpdate... it names)."""
    errors: list[Exception | None] = [None] * len(units)
    for chunk in _chunks(units):
        _commit_chunk(units, chunk, errors)
    return errors


def _chunks(units: Sequence[UnitOfWork]) -> list[list[int]]:
    """The units' indexes packed in order into transactions of at most MAX_TRANSACTION_ITEMS items
    (counted before additions are summed: never more)."""
    chunks: list[list[int]] = []
    size = 0
    for index, unit in enumerate(units):
        if not len(unit):
            continue
        if not chunks or size + len(unit) > MAX_TRANSACTION_ITEMS:
            chunks.append([])
            size = 0
        chunks[-1].append(index)
        size += len(unit)
    return chunks


def _commit_chunk(units: Sequence[UnitOfWork], pending: list[int], errors: list[Exception | None]) -> None:
    for attempt in range(ATTEMPTS):
        if len(pending) <= 1:
            break
        joined = UnitOfWork()
        for index in pending:
            joined.absorb(units[index])
        try:
            joined.commit()
            return
        except Exception as exc:
            refused = {id(op) for op in joined.refused}
            if not refused and not _conflict(exc):
                logger.warning("batch transaction failed: committed one by one", extra={"error": repr(exc)})
                break
            left_out = []
            for index in pending:
                mine = [op for op in units[index].ops if id(op) in refused]
                if mine:
                    errors[index] = mine[0].on_conflict()
                    left_out.append(index)
            pending = [index for index in pending if index not in left_out]
            if not left_out:  # another writer's transaction at the same time: try again
                clock.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    for index in pending:
        try:
            units[index].commit()
        except Exception as exc:
            errors[index] = exc


def _conflict(exc: Exception) -> bool:
    """Whether a commit failed for a concurrent transaction (worth trying again as it is)."""
    return isinstance(exc, ConcurrentUpdate)
