"""A batch's reads and writes in as few DynamoDB calls as possible (the senders of email and SMS).

- `Job`: one send-queue message of a batch and what became of it (each sender adds its own fields);
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.models import Model

from shared import clock
from shared.observability import logger
from shared.store import MAX_TRANSACTION_ITEMS, ConcurrentUpdate, UnitOfWork

ATTEMPTS = 5
M = TypeVar("M", bound=Model)
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Job(Generic[R]):
    """One send-queue message of a sender's batch: the tenant and message it names, the message's
    record as the batch read it, and its error (None: done, the queue deletes the message)."""

    tenant: str
    message_id: str
    record: R | None = None
    error: Exception | None = None


J = TypeVar("J", bound=Job[Any])


def first_of_each(jobs: Sequence[J]) -> list[J]:
    """The jobs to do: each message once (the same message queued twice in one batch is done by its
    first queue message; the other has nothing left to do) and none for a malformed queue message
    (no message id: retrying it would never help)."""
    seen: set[tuple[str, str]] = set()
    todo = []
    for job in jobs:
        if job.message_id and (job.tenant, job.message_id) not in seen:
            seen.add((job.tenant, job.message_id))
            todo.append(job)
    return todo


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


def packed(items: Sequence[T], size: Callable[[T], int], limit: int) -> list[list[T]]:
    """`items` in order, in groups whose sizes add up to at most `limit` (an item larger alone)."""
    groups: list[list[T]] = []
    total = 0
    for item in items:
        if not groups or total + size(item) > limit:
            groups.append([])
            total = 0
        groups[-1].append(item)
        total += size(item)
    return groups


def _chunks(units: Sequence[UnitOfWork]) -> list[list[int]]:
    """The units' indexes packed in order into transactions of at most MAX_TRANSACTION_ITEMS items
    (counted before additions are summed: never more)."""
    staged = [index for index, unit in enumerate(units) if len(unit)]
    return packed(staged, lambda index: len(units[index]), MAX_TRANSACTION_ITEMS)


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
