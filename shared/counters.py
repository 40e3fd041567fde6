"""Counters of a bulk send (an email campaign, an SMS send), sharded by message: how many of its
messages are in each status.

Every writer that changes a message's status adds to the counters in the same transaction as the
change, so the figures never drift from the records. A send's counts are spread over `SHARDS`
items chosen by the message id: concurrent senders of one send seldom write the same item (a
transaction conflict), and a read is one Query. A service names its counters once
(`Counters.of`): its item is a `TableItem` with a NumberAttribute per counter (DynamoDB's ADD needs
top-level attributes).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute

from shared.store import TableItem, UnitOfWork, tenant_key

SHARDS = 10


def shard_of(message_id: str) -> str:
    return str(int(hashlib.sha256(message_id.encode()).hexdigest()[:8], 16) % SHARDS)


@dataclass(frozen=True)
class Counters:
    """The counters of one kind of send: items `T#<t>#<PARENT>#<id>#STATS` / `<shard>` of `model`."""

    model: type[TableItem]
    parent: str  # e.g. CAMPAIGN, SMS_SEND
    kind: str  # the items' kind, e.g. campaign_stats
    counted: tuple[str, ...]

    @classmethod
    def of(cls, parent: str, kind: str, counted: tuple[str, ...], model_name: str) -> Counters:
        """The counters of one kind of send, with their item model (`model_name`, one attribute each)."""
        attributes: dict[str, Any] = {name: NumberAttribute(null=True) for name in counted}
        attributes["__doc__"] = f"One shard of a {parent.lower()}'s counters: `T#<t>#{parent}#<id>#STATS` / `<shard>`."
        attributes["__module__"] = __name__
        return cls(type(model_name, (TableItem,), attributes), parent, kind, counted)

    def _pk(self, tenant: str, owner_id: str) -> str:
        return tenant_key(tenant, self.parent, owner_id, "STATS")

    def shard_update(
        self, tenant: str, owner_id: str, shard: str, deltas: dict[str, int]
    ) -> tuple[TableItem, list[Any]] | None:
        """The item and the additions of `deltas` to one shard (None: nothing to add), for a
        writer that builds its transaction itself."""
        unknown = set(deltas) - set(self.counted)
        if unknown:
            raise ValueError(f"unknown counters: {sorted(unknown)}")
        changes = {k: v for k, v in deltas.items() if v}
        if not changes:
            return None
        model: Any = self.model
        item = model(pk=self._pk(tenant, owner_id), sk=shard, kind=self.kind)
        actions: list[Any] = [model.kind.set(self.kind)]
        actions += [getattr(model, name).add(value) for name, value in changes.items()]
        return item, actions

    def stage_shard(self, uow: UnitOfWork, tenant: str, owner_id: str, shard: str, deltas: dict[str, int]) -> None:
        """Add `deltas` to one shard in `uow`, summed with the unit's other additions to that shard
        (a batch's messages of one send share shards: a transaction may update an item once)."""
        unknown = set(deltas) - set(self.counted)
        if unknown:
            raise ValueError(f"unknown counters: {sorted(unknown)}")
        model: Any = self.model
        uow.add_to(model(pk=self._pk(tenant, owner_id), sk=shard, kind=self.kind), **deltas)

    def stage(self, uow: UnitOfWork, tenant: str, owner_id: str, message_id: str, deltas: dict[str, int]) -> None:
        """Add one message's `deltas` (e.g. {"queued": -1, "sent": 1}) in `uow`, summed with the
        unit's other additions to that shard."""
        self.stage_shard(uow, tenant, owner_id, shard_of(message_id), deltas)

    def stage_many(
        self, uow: UnitOfWork, tenant: str, owner_id: str, changes: Iterable[tuple[str, dict[str, int]]]
    ) -> None:
        """Add the `(message id, deltas)` of many messages in `uow`, summed per shard (one update each)."""
        shards: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for message_id, deltas in changes:
            summed = shards[shard_of(message_id)]
            for name, value in deltas.items():
                summed[name] += value
        for shard, deltas in shards.items():
            self.stage_shard(uow, tenant, owner_id, shard, dict(deltas))

    def read(self, tenant: str, owner_id: str) -> dict[str, int]:
        """The counters, summed over the shards (one Query)."""
        totals = dict.fromkeys(self.counted, 0)
        for item in self.model.query(self._pk(tenant, owner_id)):
            for name in self.counted:
                totals[name] += int(getattr(item, name, None) or 0)
        return totals
