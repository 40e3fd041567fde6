"""Campaign statistics: counters per campaign and recipient status, sharded by message.

Every writer that changes a recipient's status (staging, sender, feedback, unsubscribe) adds to the
counters in the same transaction as the change, so the figures never drift from the records. A
campaign's counts are spread over `SHARDS` items chosen by the message id: concurrent senders of
one campaign seldom write the same item (a transaction conflict), and a read is one Query.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pynamodb.attributes import NumberAttribute

from shared.store import TableItem, UnitOfWork, tenant_key

SHARDS = 10
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


class StatItem(TableItem):
    """One shard of a campaign's counters: `T#<t>#CAMPAIGN#<id>#STATS` / `<shard>`."""

    recipients = NumberAttribute(null=True)
    queued = NumberAttribute(null=True)
    sent = NumberAttribute(null=True)
    failed = NumberAttribute(null=True)
    suppressed = NumberAttribute(null=True)
    opted_out = NumberAttribute(null=True)
    skipped = NumberAttribute(null=True)
    delivered = NumberAttribute(null=True)
    bounced = NumberAttribute(null=True)
    complained = NumberAttribute(null=True)
    opened = NumberAttribute(null=True)
    clicked = NumberAttribute(null=True)
    unsubscribed = NumberAttribute(null=True)


def _pk(tenant: str, campaign_id: str) -> str:
    return tenant_key(tenant, "CAMPAIGN", campaign_id, "STATS")


def shard_of(message_id: str) -> str:
    return str(int(hashlib.sha256(message_id.encode()).hexdigest()[:8], 16) % SHARDS)


def stage_counts(uow: UnitOfWork, tenant: str, campaign_id: str, message_id: str, deltas: dict[str, int]) -> None:
    """Add `deltas` (e.g. {"queued": -1, "sent": 1}) to the campaign's counters in `uow`.

    One unit of work may touch one shard item once: stage all of a message's changes in one call,
    and for many messages use `merge_counts` and stage per shard.
    """
    unknown = set(deltas) - set(COUNTED)
    if unknown:
        raise ValueError(f"unknown counters: {sorted(unknown)}")
    changes = {k: v for k, v in deltas.items() if v}
    if not changes:
        return
    item = StatItem(pk=_pk(tenant, campaign_id), sk=shard_of(message_id), kind="campaign_stats")
    actions: list[Any] = [StatItem.kind.set("campaign_stats")]
    actions += [getattr(StatItem, name).add(value) for name, value in changes.items()]
    uow.update(item, actions)


def stage_shard_counts(uow: UnitOfWork, tenant: str, campaign_id: str, shard: str, deltas: dict[str, int]) -> None:
    """Like `stage_counts` for a shard named directly (bulk staging sums per shard first)."""
    counted = shard_update(tenant, campaign_id, shard, deltas)
    if counted is not None:
        uow.update(*counted)


def shard_update(
    tenant: str, campaign_id: str, shard: str, deltas: dict[str, int]
) -> tuple[StatItem, list[Any]] | None:
    """The item and the additions of `deltas` to one shard (None: nothing to add), for a writer
    that builds its transaction itself (the sender's outcomes)."""
    changes = {k: v for k, v in deltas.items() if v}
    if not changes:
        return None
    item = StatItem(pk=_pk(tenant, campaign_id), sk=shard, kind="campaign_stats")
    actions: list[Any] = [StatItem.kind.set("campaign_stats")]
    actions += [getattr(StatItem, name).add(value) for name, value in changes.items()]
    return item, actions


def read_counts(tenant: str, campaign_id: str) -> dict[str, int]:
    """The campaign's counters, summed over the shards (one Query)."""
    totals = dict.fromkeys(COUNTED, 0)
    for item in StatItem.query(_pk(tenant, campaign_id)):
        for name in COUNTED:
            totals[name] += int(getattr(item, name) or 0)
    return totals
