"""Campaign statistics: counters per campaign and recipient status, sharded by message
(shared/counters.py, as the SMS sends' counters).

Every writer that changes a recipient's status (staging, sender, feedback, unsubscribe) adds to the
counters in the same transaction as the change, so the figures never drift from the records.
"""

from __future__ import annotations

from typing import Any

from shared import counters
from shared.counters import Counters
from shared.store import TableItem, UnitOfWork

COUNTED = (
    "recipients",
    "queued",
    "sent",
    "failed",
    "suppressed",
    "opted_out",
    "skipped",
    "delivered",
    "bounced",
    "complained",
    "opened",
    "clicked",
    "unsubscribed",
)


COUNTERS = Counters.of("CAMPAIGN", "campaign_stats", COUNTED, "StatItem")  # shared/counters.py
shard_of = counters.shard_of


def stage_counts(uow: UnitOfWork, tenant: str, campaign_id: str, message_id: str, deltas: dict[str, int]) -> None:
    """Add `deltas` (e.g. {"queued": -1, "sent": 1}) to the campaign's counters in `uow`.

    One unit of work may touch one shard item once: stage all of a message's changes in one call,
    and for many messages stage per shard.
    """
    COUNTERS.stage(uow, tenant, campaign_id, message_id, deltas)


def stage_shard_counts(uow: UnitOfWork, tenant: str, campaign_id: str, shard: str, deltas: dict[str, int]) -> None:
    """Like `stage_counts` for a shard named directly (bulk staging sums per shard first)."""
    COUNTERS.stage_shard(uow, tenant, campaign_id, shard, deltas)


def shard_update(
    tenant: str, campaign_id: str, shard: str, deltas: dict[str, int]
) -> tuple[TableItem, list[Any]] | None:
    """The item and the additions of `deltas` to one shard (None: nothing to add), for a writer
    that builds its transaction itself (the sender's outcomes)."""
    return COUNTERS.shard_update(tenant, campaign_id, shard, deltas)


def read_counts(tenant: str, campaign_id: str) -> dict[str, int]:
    """The campaign's counters, summed over the shards (one Query)."""
    return COUNTERS.read(tenant, campaign_id)
