"""What every service's commands share: the caller of a request, tenant settings with defaults,
signed list pages and retried commits.

A service keeps a `Defaults` registry of its per-tenant settings (each stored as one record of
kind "setting" in its table, its value for a new tenant given by a factory that a feature module
registers at import); `ensure_tenant` installs the ones a tenant does not have yet, so a setting
added later reaches old tenants too. Reading the registry imports the service's feature modules
listed as `defaults` first (`shared/features.py`), so no setting is missed because its module was not imported yet.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from shared import preconditions
from shared.auth import AuthContext, Role
from shared.contracts.audience import ActingUser
from shared.contracts.settings import SettingChanged, setting_id
from shared.errors import Forbidden
from shared.events import Actor, Change, Envelope, changes_of, new_event
from shared.features import Features
from shared.pagination import Deleted, Page, decode_cursor, encode_cursor
from shared.store import (
    AlreadyApplied,
    DataItem,
    DataStore,
    UnitOfWork,
    clean,
    is_tombstone,
    joining,
    run_with_retries,
    sync_time,
    tenant_key,
)

M = TypeVar("M", bound=BaseModel)

SETTING = "setting"
INSTALLED = "installed"


class Defaults:
    """A service's tenant settings and their values for a new tenant."""

    def __init__(self, features: Features | None = None) -> None:
        self._features = features
        self._factories: dict[str, Callable[[], dict[str, Any]]] = {}

    @property
    def service(self) -> str:
        """The service whose settings these are (its package's last name)."""
        return self._features.package.rsplit(".", 1)[-1] if self._features is not None else "kontakt"

    def register(self, name: str, factory: Callable[[], dict[str, Any]]) -> None:
        self._factories[name] = factory

    def _load(self) -> None:
        if self._features is not None:
            self._features.load("defaults")

    def value(self, name: str) -> dict[str, Any]:
        if name not in self._factories:  # registered by a feature module not imported yet
            self._load()
        return self._factories[name]()

    @property
    def names(self) -> set[str]:
        self._load()
        return set(self._factories)


@dataclass
class Caller:
    """The caller of one request (or a service acting for a tenant)."""

    auth: AuthContext
    store: DataStore[Any]
    defaults: Defaults
    signing_key: bytes = b""
    _settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def tenant(self) -> str:
        return self.auth.tenant_id

    @property
    def user_id(self) -> str:
        return self.auth.user_id

    @property
    def role(self) -> Role:
        return self.auth.role

    @property
    def actor(self) -> Actor:
        """Who the events name: the user, a service acting for the tenant, or an API key (its id,
        when the auth context carries one: a key acts as a service user of its tenant)."""
        if self.auth.key_id:
            return Actor(type="key", id=self.auth.key_id)
        kind = "service" if self.user_id.startswith("service:") else "user"
        return Actor(type=kind, id=self.user_id)

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    def acting_user(self) -> ActingUser | None:
        """The user this caller acts for, as an audience request carries it (None for a service's
        own work): the directory resolves the audience as that user sees it."""
        if self.user_id.startswith("service:"):
            return None
        return ActingUser(user_id=self.user_id, role=self.role, groups=list(self.auth.groups))

    def require_admin(self) -> None:
        if self.role != Role.ADMIN:
            raise Forbidden("Only an admin of the tenant may do this.")

    def require_manager(self) -> None:
        if not self.is_manager:
            raise Forbidden("Only a manager or an admin may do this.")

    def event(
        self, event_type: str, payload: BaseModel, event_id: str | None = None, changes: list[Change] | None = None
    ) -> Envelope:
        """An event this caller causes; an update passes its `changes` (`shared.events.changes_of`)."""
        return new_event(event_type, self.tenant, payload, actor=self.actor, event_id=event_id, changes=changes)

    def setting(self, name: str) -> dict[str, Any]:
        """A tenant setting's value, read once per request."""
        if name not in self._settings:
            record = self.store.get(self.tenant, SETTING, name)
            self._settings[name] = record.data if record else self.defaults.value(name)
        return self._settings[name]

    def settings_of(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """Several settings' values; the ones not read yet in this request in one BatchGetItem."""
        unread = [name for name in names if name not in self._settings]
        if unread:
            records = self.store.get_many(self.tenant, SETTING, unread)
            for name in unread:
                self._settings[name] = records[name].data if name in records else self.defaults.value(name)
        return {name: self._settings[name] for name in names}

    def setting_record(self, name: str) -> DataItem:
        """The setting's record: the one the request addressed (`address_setting`) as it was read,
        so that its version condition is the one If-Match was evaluated on; else read now."""
        addressed = preconditions.target()
        if isinstance(addressed, DataItem) and addressed.kind == SETTING and addressed.record_id == name:
            return addressed
        record = self.store.get(self.tenant, SETTING, name)
        return record or self.store.new(self.tenant, SETTING, name, self.defaults.value(name))

    def address_setting(self, name: str) -> dict[str, Any]:
        """The setting a settings route reads or writes, as the request's target
        (`shared.preconditions`): If-Match is evaluated on it (412), its version is the ETag."""
        record = self.setting_record(name)
        preconditions.address(record)
        self._settings[name] = record.data
        return record.data

    def save_setting(self, name: str, value: dict[str, Any], *, secret: Iterable[str] = ()) -> None:
        """Replace a setting (and publish its change); the version check refuses a save over someone else's."""
        uow = UnitOfWork()
        self.stage_setting(uow, name, value, secret=secret)
        uow.commit()
        self._settings[name] = value

    def stage_setting(
        self, uow: UnitOfWork, name: str, value: dict[str, Any], *, secret: Iterable[str] = (), published: bool = False
    ) -> None:
        """Replace a setting in `uow` (with what else commits with it); the value it has already
        writes nothing (its version stays). A change is published as `setting.updated` with its
        fields old -> new (`secret` fields masked), so every service's settings reach the audit
        trail; `published`: the caller publishes its own event of the change instead."""
        record = self.setting_record(name)
        if record.version is None or not _same(record.data, clean(value)):
            before = dict(record.data)
            self.store.replace(uow, record, value)
            changes = changes_of(before, value, secret=secret)
            if changes and not published:
                service = self.defaults.service
                payload = SettingChanged(id=setting_id(service, name), service=service, name=name)
                uow.publish(self.event("setting.updated", payload, changes=changes))
        self._settings.pop(name, None)

    def forget_setting(self, name: str) -> None:
        """Read the setting again on its next use (a transaction of the caller's changed it)."""
        self._settings.pop(name, None)

    def open(self) -> None:
        """Make the tenant ready for this caller's work: install the default settings it lacks."""
        ensure_tenant(self)


C = TypeVar("C", bound=Caller)


def service_caller(caller_type: type[C], tenant_id: str, service: str, *, open_tenant: bool = True) -> C:
    """A caller for work a service does for a tenant (consumers, jobs): an admin of that tenant.

    `open_tenant=False` skips the tenant setup reads, for batches that read the settings themselves.
    """
    return acting_caller(caller_type, tenant_id, f"service:{service}", open_tenant=open_tenant)


def acting_caller(caller_type: type[C], tenant_id: str, user_id: str, *, open_tenant: bool = True) -> C:
    """A caller acting as `user_id` with an admin's reach, outside a request (the user's command
    was allowed when it was asked; events name the user as actor)."""
    caller = caller_type(auth=AuthContext(tenant_id=tenant_id, user_id=user_id, role=Role.ADMIN))  # type: ignore[call-arg]
    if open_tenant:
        caller.open()
    return caller


def user_caller(caller_type: type[C], tenant_id: str, user: ActingUser, *, open_tenant: bool = True) -> C:
    """A caller that is `user` with that user's own reach (role and groups as recorded when they
    asked), outside a request: a schedule firing a user's command acts as the user, not as a
    service with every record in reach."""
    auth = AuthContext(tenant_id=tenant_id, user_id=user.user_id, role=user.role, groups=tuple(user.groups))
    caller = caller_type(auth=auth)  # type: ignore[call-arg]
    if open_tenant:
        caller.open()
    return caller


def ensure_tenant(caller: Caller) -> None:
    """Install the default settings a tenant does not have yet (all of them for a new tenant)."""
    install_defaults(caller, caller.store.get(caller.tenant, SETTING, INSTALLED))


def install_defaults(caller: Caller, marker: DataItem | None) -> None:
    """`ensure_tenant` for a caller that has read the tenant's marker (`SETTING`/`INSTALLED`) already."""
    store, defaults = caller.store, caller.defaults
    installed = set(marker.data.get("names", [])) if marker else set()
    if marker is not None and installed >= defaults.names:
        return
    uow = UnitOfWork()
    for name in sorted(defaults.names - installed):
        item = store.new(caller.tenant, SETTING, name, defaults.value(name))
        uow.save(item, condition=store.model.pk.does_not_exist(), on_conflict=AlreadyApplied)
    names = sorted(installed | defaults.names)
    if marker is None:
        item = store.new(caller.tenant, SETTING, INSTALLED, {"names": names})
        uow.save(item, condition=store.model.pk.does_not_exist(), on_conflict=AlreadyApplied)
    else:
        store.replace(uow, marker, {"names": names})
    # Another request installed them first; not the command's write (no If-Match, no idempotency claim).
    with suppress(AlreadyApplied), preconditions.unconditional(), joining(None):
        uow.commit()


def patch_changes(before: BaseModel | Mapping[str, Any], sent: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """What a PATCH changes: the fields `sent` (a PATCH body, or the fields it sets) whose value
    differs from the record's `before`. Every service's update path asks this first and, when it
    is empty (an empty body, or the values the record has), writes nothing: no version bump, no
    `updated_at`, no event; it answers the record as it is.

    PATCH is JSON Merge Patch (RFC 7396) at the top level: a field left out is kept, a field sent
    replaces the record's (a nested object or a list whole), and `null` clears an optional field;
    a field the record always has refuses `null` in its model (`shared.types.reject_null`, 422),
    and its schema then admits no null.
    """
    changes = sent.model_dump(exclude_unset=True) if isinstance(sent, BaseModel) else dict(sent)
    current = before.model_dump() if isinstance(before, BaseModel) else dict(before)
    return {name: value for name, value in changes.items() if not _same(current.get(name), value)}  # absent: null


def _same(stored: Any, sent: Any) -> bool:
    """Equal as values (a time in another offset, or in ISO 8601 text, is the same instant) or as JSON."""
    stored, sent = _instant(stored), _instant(sent)
    return bool(stored == sent) or to_jsonable_python(stored) == to_jsonable_python(sent)


def _instant(value: Any) -> Any:
    """A time written as ISO 8601 text as the time it names (records keep times as text)."""
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":
        with suppress(ValueError):
            return datetime.fromisoformat(value)
    return value


def model_of(record: DataItem, model: type[M]) -> M:
    return model.model_validate({"id": record.record_id, **record.data, "version": record.version})


def page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[dict[str, Any] | None, int], list[Any]],
    position: Callable[[Any], dict[str, Any]],
    model: type[M],
) -> Page[M]:
    """One page of a list; the cursor is the last item's position, signed for this list and tenant."""
    scope = f"{caller.tenant}:{scope}"
    after = decode_cursor(cursor, scope, caller.signing_key) if cursor else None
    records = fetch(after, limit + 1)
    items = [model_of(r, model) for r in records[:limit]]
    next_cursor = None
    if len(records) > limit:
        next_cursor = encode_cursor(position(records[limit - 1]), scope, caller.signing_key)
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def kind_page(
    caller: Caller,
    kind: str,
    cursor: str | None,
    limit: int,
    model: type[M],
    updated_since: datetime | None = None,
) -> Page[M]:
    """Every record of a kind in the tenant, in id order (the store's `by_type` index); with
    `updated_since`, the records changed and deleted since then, in update order (`sync_page`)."""
    if updated_since is not None:
        return sync_page(caller, kind, updated_since, cursor, limit, model)

    def fetch(after: dict[str, Any] | None, n: int) -> list[Any]:
        return caller.store.page_by_type(caller.tenant, kind, after["id"] if after else None, n)

    return page(caller, kind, cursor, limit, fetch, lambda r: {"id": r.record_id}, model)


# A filtered page reads at most this many index items (a filter drops some after they are read),
# in reads of at least FILTERED_PAGE: a page's cost is bounded however large the partition.
READ_BUDGET = 500
FILTERED_PAGE = 100


def partition_page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    index: Any,
    hash_key: str | Sequence[str],
    sort_key: Any,
    model: type[M],
    newest_first: bool = False,
    *,
    lower: str | None = None,
    upper: str | None = None,
    condition: Any = None,
    keep: Callable[[list[Any]], list[Any]] | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> Page[M]:
    """One page of an index partition in sort-key order (descending when `newest_first`).

    `hash_key` a sequence: the partitions merged in sort-key order (one query of at most a page per
    partition: the records of the owners a user sees, by name), with `lower`/`upper` only.

    `sort_key` is the index's range key attribute (e.g. `Record.gsi3sk`); the cursor is the last
    item's sort key, signed for this list and tenant.

    Served by the index: `lower` <= sort key < `upper` (a time range over `<time>#<id>` keys).
    Applied page-wise: `condition` (a DynamoDB filter on the items read) and `keep` (a check in
    Python of each read batch, e.g. the permission check, which keeps the records it returns).
    A filtered page reads at most `READ_BUDGET` items, so it may come back shorter than `limit`
    (even empty) with a cursor: the client follows the cursor until there is none.
    `convert` makes each item from its record (default: `model_of(record, model)`).
    """
    if not isinstance(hash_key, str):
        if condition is not None or keep is not None or convert is not None:
            raise ValueError("merged partitions take no filter")
        return _merged_page(caller, scope, cursor, limit, index, hash_key, sort_key, model, newest_first, lower, upper)
    if any(arg is not None for arg in (lower, upper, condition, keep, convert)):
        return _filtered_page(
            caller, scope, cursor, limit, index, hash_key, sort_key, model, newest_first, lower, upper, condition, keep,
            convert or (lambda record: model_of(record, model)),
        )  # fmt: skip
    name = sort_key.attr_name

    def fetch(after: dict[str, Any] | None, n: int) -> list[Any]:
        condition = None
        if after:
            condition = sort_key < after["sk"] if newest_first else sort_key > after["sk"]
        return list(index.query(hash_key, range_key_condition=condition, limit=n, scan_index_forward=not newest_first))

    return page(caller, scope, cursor, limit, fetch, lambda r: {"sk": getattr(r, name)}, model)


def _merged_page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    index: Any,
    hash_keys: Sequence[str],
    sort_key: Any,
    model: type[M],
    newest_first: bool,
    lower: str | None,
    upper: str | None,
) -> Page[M]:
    name = sort_key.attr_name

    def fetch(after: dict[str, Any] | None, n: int) -> list[Any]:
        low, high = lower or "!", upper or "\U0010ffff"
        if after is not None:  # `between` is inclusive: the cursor's own item is dropped below
            low, high = (low, min(high, after["sk"])) if newest_first else (max(low, after["sk"]), high)
        if low > high:
            return []
        skip = {after["sk"] if after else None, upper}
        streams = [
            (
                r
                for r in index.query(
                    h, sort_key.between(low, high), scan_index_forward=not newest_first, page_size=n + 1
                )
                if getattr(r, name) not in skip
            )
            for h in hash_keys
        ]
        merged = heapq.merge(*streams, key=lambda r: getattr(r, name), reverse=newest_first)
        return list(islice(merged, n))

    return page(caller, scope, cursor, limit, fetch, lambda r: {"sk": getattr(r, name)}, model)


def _filtered_page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    index: Any,
    hash_key: str,
    sort_key: Any,
    model: type[M],
    newest_first: bool,
    lower: str | None,
    upper: str | None,
    condition: Any,
    keep: Callable[[list[Any]], list[Any]] | None,
    convert: Callable[[Any], Any],
) -> Page[M]:
    records, next_cursor = _filtered_records(
        caller, scope, cursor, limit, index, hash_key, sort_key, newest_first, lower, upper, condition, keep
    )
    return Page[model](items=[convert(r) for r in records], next_cursor=next_cursor)  # type: ignore[valid-type]


def _filtered_records(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    index: Any,
    hash_key: str,
    sort_key: Any,
    newest_first: bool,
    lower: str | None,
    upper: str | None,
    condition: Any,
    keep: Callable[[list[Any]], list[Any]] | None,
) -> tuple[list[Any], str | None]:
    """The items of one page of an index partition (`partition_page`) and the next page's cursor."""
    name = sort_key.attr_name
    scope = f"{caller.tenant}:{scope}"
    after = decode_cursor(cursor, scope, caller.signing_key)["sk"] if cursor else None
    low, high = lower or "!", upper or "\uffff"
    if after is not None:  # `between` is inclusive: the cursor's own item is dropped below
        low, high = (low, min(high, after)) if newest_first else (max(low, after), high)
    if low > high:
        return [], None
    filtered = condition is not None or keep is not None
    page_size = min(READ_BUDGET, max(limit + 1, FILTERED_PAGE) if filtered else limit + 1)
    pages = index.query(
        hash_key,
        sort_key.between(low, high),
        filter_condition=condition,
        scan_index_forward=not newest_first,
        page_size=page_size,
    ).page_iter
    items: list[Any] = []
    read = 0
    position: str | None = None
    for raw in pages:
        read += int(raw.get("ScannedCount", 0))
        batch = [caller.store.model.from_raw_data(item) for item in raw.get("Items", [])]
        batch = [r for r in batch if getattr(r, name) not in (after, upper)]  # `upper` is exclusive
        items.extend(keep(batch) if keep and batch else batch)
        if len(items) > limit:  # one more than asked: there is a next page
            items = items[:limit]
            position = getattr(items[-1], name)
            break
        last = pages.last_evaluated_key
        if last is None:
            break
        if read >= READ_BUDGET:
            position = last[name]["S"]
            break
    next_cursor = encode_cursor({"sk": position}, scope, caller.signing_key) if position else None
    return items, next_cursor


def sync_page(
    caller: Caller,
    kind: str,
    since: datetime,
    cursor: str | None,
    limit: int,
    model: type[M],
    *,
    visible: Callable[[Any], bool] | None = None,
) -> Page[M]:
    """One page of a list asked with `updated_since` (incremental sync, docs/api.md "Sync"): the
    records of `kind` written at or after `since` and the tombstones of those deleted since (in
    the page's `deleted`), together in the order of their last write (oldest first, then id),
    from the store's `by_update` index (`shared.store.ByUpdate`: one Query, O(page)).

    `visible`: the permission check of one record (None: the caller sees every record of the
    kind); it is asked about tombstones too, which keep the fields it reads
    (`shared.store.TOMBSTONE_FIELDS`), so nobody learns the ids of records they could not see.
    A filtered page reads at most `READ_BUDGET` items and may come back short with a cursor.
    A list's other parameters sent with `updated_since` are refused before (`shared.lookup.plan`
    or `shared.lookup.only_since`).
    """
    store_model: Any = caller.store.model
    if kind not in store_model.synced_kinds:
        raise ValueError(f"{kind} is not a synced kind of {store_model.__name__} (synced_kinds)")

    def allowed(batch: list[Any]) -> list[Any]:
        assert visible is not None
        return [record for record in batch if visible(record)]

    records, next_cursor = _filtered_records(
        caller,
        f"{kind}:updated_since",
        cursor,
        limit,
        store_model.by_update,
        tenant_key(caller.tenant, kind.upper()),
        store_model.syncsk,
        False,
        sync_time(since),
        None,
        None,
        allowed if visible is not None else None,
    )
    items = [model_of(r, model) for r in records if not is_tombstone(r)]
    deleted = [
        Deleted(id=r.record_id, deleted=True, deleted_at=r.data["deleted_at"]) for r in records if is_tombstone(r)
    ]
    return Page[model](items=items, next_cursor=next_cursor, deleted=deleted)  # type: ignore[valid-type]


def commit(command: Callable[[], M]) -> M:
    """Run a command, again if a concurrent writer saved the same record in between."""
    result: M = run_with_retries(command)
    return result
