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

import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import KeysOnlyProjection

from shared import clock
from shared.store import Index

DUE_SHARDS = 4


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
