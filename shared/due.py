"""A due-time index across tenants: what a service's sweep job must act on by a given time
(activities' reminders, SMS messages held for their window or awaiting their receipt).

A record put in it sets `duepk`/`duesk`: `DUE#<shard>` / `<due time>#<tenant>#<id>`, the shard
from a hash of its key (DUE_SHARDS partitions, so no one partition takes every write). The index
(`by_due`, keys only) is sparse: a record leaves it by removing both attributes. A sweep reads
each shard up to its cutoff (`due_keys`), reads each record and acts, taking it out of the index
in the same write as its action (conditioned on what it read), so a crash or two overlapping
sweeps never act twice and never lose an item. The service's table declares the index
(template.yaml: `by_due` on duepk/duesk, KEYS_ONLY).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import KeysOnlyProjection

from shared import clock
from shared.observability import logger
from shared.store import Index

DUE_SHARDS = 4
SWEEP_BUDGET_SECONDS = 90  # a jobs function times out at 120 s; what is left waits for the next minute


class ByDue(Index):
    class Meta:
        index_name = "by_due"
        projection = KeysOnlyProjection()

    duepk = UnicodeAttribute(hash_key=True)
    duesk = UnicodeAttribute(range_key=True)


def due_shard(pk: str) -> str:
    return f"DUE#{zlib.crc32(pk.encode()) % DUE_SHARDS}"


def due_sort_key(due_iso: str, tenant_id: str, record_id: str) -> str:
    return f"{due_iso}#{tenant_id}#{record_id}"


def due_keys(model: Any, cutoff: datetime) -> Iterator[Any]:
    """The keys of every item of `model` (a table model with `by_due` and `duesk`) due by the
    cutoff, shard by shard (the index holds keys only)."""
    upto = f"{clock.iso(cutoff)}$"  # `$` sorts after the `#` that follows the time: due == cutoff is in
    for shard in range(DUE_SHARDS):
        yield from model.by_due.query(f"DUE#{shard}", range_key_condition=model.duesk < upto)


class DueItem:
    """The `duepk`/`duesk` attributes of a record listed in its table's `by_due` index, and what a
    table model does with them (mixed into its record, which declares `by_due = ByDue()`)."""

    pk: Any
    record_id: Any
    duepk = UnicodeAttribute(null=True)
    duesk = UnicodeAttribute(null=True)

    def set_due(self, tenant_id: str, due_iso: str | None) -> None:
        """List the record in the sweep's `by_due` at `due_iso` (None takes it out)."""
        self.duepk = due_shard(self.pk) if due_iso else None
        self.duesk = due_sort_key(due_iso, tenant_id, self.record_id) if due_iso else None

    def due_actions(self, tenant_id: str, due_iso: str | None) -> list[Any]:
        """The update actions of `set_due` (for a write that updates rather than saves)."""
        self.set_due(tenant_id, due_iso)
        model: Any = type(self)
        if due_iso is None:
            return [model.duepk.remove(), model.duesk.remove()]
        return [model.duepk.set(self.duepk), model.duesk.set(self.duesk)]


def cutoff_of(scheduled_time: str | None, now: datetime) -> datetime:
    """What a sweep acts on: what fell due by its firing's scheduled time, or by now if it runs late."""
    if not scheduled_time:
        return now
    return max(datetime.fromisoformat(scheduled_time), now)


def due_now(model: Any, pk: str, sk: str, cutoff: datetime) -> tuple[Any, str, datetime] | None:
    """The item (read consistently), its tenant and due time, if it is still in the index due by the
    cutoff; None when it is gone, out of the index, or moved later since the index was read."""
    try:
        record = model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
    if not record.duesk:
        return None
    due_iso, tenant, _ = record.duesk.split("#", 2)
    due_at = datetime.fromisoformat(due_iso)
    return None if due_at > cutoff else (record, tenant, due_at)


def sweep(model: Any, cutoff: datetime, act: Callable[[str, str, datetime], str], name: str) -> dict[str, int]:
    """Act on every item of `model` due by the cutoff, within SWEEP_BUDGET_SECONDS; an item whose
    `act` fails stays in the index for the next sweep and holds back no other. Returns (and logs)
    how many items had each outcome `act` named."""
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    done: dict[str, int] = {}
    for key in due_keys(model, cutoff):
        if time.monotonic() > deadline:
            break
        try:
            outcome = act(key.pk, key.sk, cutoff)
        except Exception:  # one bad item must not hold back the others
            outcome = "failed"
            logger.exception(f"{name} sweep item failed", extra={"pk": key.pk})
        done[outcome] = done.get(outcome, 0) + 1
    logger.info(f"{name} swept", extra={"cutoff": clock.iso(cutoff), **done})
    return done
