"""A service's projection of the tenant's target groups, from the directory's `target_group.*`.

Services that take a `target_group_id` (the activities' call list filter, SMS sends) check it here,
not by asking the directory: services talk only through events. A service builds one
`TargetGroups` over its store and registers its `handlers()` in its subscription registry (as
`shared/recipients.py`'s `Recipients`); its consumer's queue must get `target_group.created`,
`target_group.updated` and `target_group.deleted`.

Rows: one record per group, kind `target_group` (a service may name its own kind: the activities'
call list keeps its `cl_group`), id = the group's id, data {name, conditions, match, at}, or
{gone: true, at} for a deleted group. Each event is an absolute write guarded by the event's time
(`at`, the envelope's `occurred_at`; the events carry no version): an event no newer than the one
kept changes nothing, and a deleted group is a tombstone no later event revives (a redelivered or
late `target_group.updated` included). Each write is its own retried transaction; the consumer's
dedupe marker is only a shortcut.

`require(caller, group_id)` answers 422 naming the field (code `unknown_target_group`) when the
group is deleted or unknown to the caller's tenant (another tenant's id is unknown here: rows are
the tenant's). Events are asynchronous, so a group created a moment ago may not be projected yet:
for an id it has never seen, `require` polls the row (a consistent GetItem every `POLL_SECONDS`)
for up to `grace` seconds before refusing (docs/decisions.md: a read-your-writes grace instead of
a call to the directory). Who may see the group (its visibility rules) is not checked here: the
directory refuses the audience request of a caller who may not see it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from shared.consumer import Handle
from shared.contracts.directory import RecordDeleted
from shared.contracts.target_groups import TargetGroupChanged
from shared.errors import ValidationFailed
from shared.events import Envelope
from shared.store import DataItem, DataStore, UnitOfWork, run_with_retries

KIND = "target_group"
GRACE_SECONDS = 3.0  # how long `require` waits for a group it has never seen to be projected
POLL_SECONDS = 0.2  # between its reads meanwhile
EVENT_TYPES = ("target_group.created", "target_group.updated", "target_group.deleted")
CODE = "unknown_target_group"

R = TypeVar("R", bound=DataItem)


class HasTenant(Protocol):
    @property
    def tenant(self) -> str: ...


class TargetGroups(Generic[R]):
    """The projection over one service's store; a service subscribes its `handlers()`."""

    def __init__(self, store: DataStore[R], kind: str = KIND, grace: float = GRACE_SECONDS) -> None:
        self.store = store
        self.kind = kind
        self.grace = grace
        self.sleep: Callable[[float], None] = time.sleep  # tests may count the waits

    # ------------------------------------------------------------------ reads

    def row(self, tenant: str, group_id: str) -> dict[str, Any] | None:
        """The group's row data as kept (a tombstone included), None if never heard of."""
        record = self.store.get(tenant, self.kind, group_id)
        return dict(record.data) if record is not None else None

    def live(self, tenant: str, group_id: str) -> dict[str, Any] | None:
        """The group (name, conditions, match) if it is known and not deleted."""
        data = self.row(tenant, group_id)
        return None if data is None or data.get("gone") else data

    def require(
        self,
        caller: HasTenant,
        group_id: str,
        field: str = "target_group_id",
        code: str = CODE,
        grace: float | None = None,
    ) -> dict[str, Any]:
        """The live group; 422 naming `field` when it is deleted or, after the grace, still unknown
        to the caller's tenant (`grace`: this call's, default the projection's)."""
        return self.require_in(caller.tenant, group_id, field, code, grace)

    def require_in(
        self, tenant: str, group_id: str, field: str = "target_group_id", code: str = CODE, grace: float | None = None
    ) -> dict[str, Any]:
        """`require` for a tenant."""
        wait = self.grace if grace is None else grace
        deadline = time.monotonic() + wait
        data = self.row(tenant, group_id)
        while data is None and time.monotonic() < deadline:
            self.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            data = self.row(tenant, group_id)
        if data is None or data.get("gone"):
            raise ValidationFailed.on(field, f"No target group {group_id}.", code)
        return data

    # ------------------------------------------------------------------ writes

    def changed(self, tenant: str, group_id: str, data: Mapping[str, Any], at: str) -> bool:
        """Keep the group as of `at`; False when the kept row is newer or a tombstone (nothing written)."""
        return self._set(tenant, group_id, dict(data), at)

    def deleted(self, tenant: str, group_id: str, at: str) -> bool:
        """Bury the group: a tombstone no later event revives."""
        return self._set(tenant, group_id, {"gone": True}, at)

    def _set(self, tenant: str, group_id: str, data: dict[str, Any], at: str) -> bool:
        def attempt() -> bool:
            record = self.store.get(tenant, self.kind, group_id)
            if record is not None and (record.data.get("gone") or str(record.data.get("at", "")) >= at):
                return False
            uow = UnitOfWork()
            if record is None:
                self.store.add(uow, self.store.new(tenant, self.kind, group_id, {**data, "at": at}))
            else:
                self.store.replace(uow, record, {**data, "at": at})
            uow.commit()
            return True

        return bool(run_with_retries(attempt))

    # ------------------------------------------------------------------ subscriptions

    def handlers(self) -> dict[str, Handle]:
        """The projection's handler of each `target_group.*` event, for a service's registry."""

        def on_changed(envelope: Envelope, uow: UnitOfWork) -> None:
            payload = TargetGroupChanged.model_validate(envelope.data)
            group = payload.model_dump(mode="json", include={"name", "conditions", "match"})
            self.changed(envelope.tenant_id, payload.id, group, envelope.occurred_at.isoformat())

        def on_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
            group_id = RecordDeleted.model_validate(envelope.data).id
            self.deleted(envelope.tenant_id, group_id, envelope.occurred_at.isoformat())

        return {
            "target_group.created": on_changed,
            "target_group.updated": on_changed,
            "target_group.deleted": on_deleted,
        }
