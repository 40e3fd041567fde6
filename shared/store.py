"""Table items every service table holds, and the unit of work that writes them together.

Each service owns one table. In a Lambda process exactly one table is in use, so every pynamodb
model derives from `TableItem` and `bind_table` points them all at it at cold start.
A command collects its writes, its outbox events, its dedupe marker and its counter increments
in a `UnitOfWork` and commits them in one `TransactWriteItems`: all of it happens, or none.
"""

import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

import botocore.session
import pynamodb.connection.base as pynamodb_connection
from botocore import loaders
from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared import clock, preconditions
from shared.errors import Conflict
from shared.events import Envelope

MAX_TRANSACTION_ITEMS = 100
OUTBOX_RETENTION = timedelta(days=7)
DEDUPE_RETENTION = timedelta(days=14)
# How long a deleted record's tombstone stays listed by `updated_since` (docs/api.md "Sync"): a
# client that last synced longer ago reads the list again from the start.
TOMBSTONE_RETENTION = timedelta(days=30)
TOMBSTONE = "TOMBSTONE"
# The fields of a record its tombstone keeps: what the lists' permission checks read (the owner,
# a public flag, the creator, a contact order's owner and assignees), so that a plain user learns
# only of deletions of records they could see.
TOMBSTONE_FIELDS = ("owner", "owner_id", "assignee_ids", "public", "created_by")


@functools.cache
def _data_loader() -> loaders.Loader:
    return loaders.create_loader()


def _session() -> botocore.session.Session:
    """A botocore session for pynamodb's connections, all of them reading botocore's data files
    through one loader. pynamodb makes a session per model class (a connection each) and thread,
    and each session would parse the endpoint and DynamoDB model files again at its first call:
    ~60-90 ms of CPU a model class, paid again at every cold start by every function."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _data_loader())
    return session


pynamodb_connection.get_session = _session  # where pynamodb's Connection.session makes its sessions


class TableItem(Model):
    """Base of every item: `pk`/`sk` strings with typed prefixes and a `kind`."""

    class Meta:
        table_name: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()

    @classmethod
    def _get_connection(cls) -> Any:
        # pynamodb caches the connection on the class, and a subclass would inherit its parent's
        # (built for the parent's indexes): each model class keeps a connection of its own.
        if "_connection" not in cls.__dict__:
            cls._connection = None
        return super()._get_connection()


def bind_table(table_name: str) -> None:
    """Point every model at this process's service table (once, at cold start).

    pynamodb caches a connection per model class; a new binding drops them so that the next call
    connects afresh (to the endpoint configured now).
    """
    TableItem.Meta.table_name = table_name
    pending: list[type[Model]] = [TableItem]
    while pending:
        model = pending.pop()
        model._connection = None
        pending.extend(model.__subclasses__())


def tenant_key(tenant_id: str, *parts: str) -> str:
    return "#".join(["T", tenant_id, *parts])


def record_key(tenant_id: str, kind: str, record_id: str) -> str:
    """The key of a service record: `T#<tenant>#<KIND>#<id>`."""
    return tenant_key(tenant_id, kind.upper(), record_id)


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB maps hold no nulls: drop absent values."""
    return {k: v for k, v in data.items() if v is not None}


class DataItem(TableItem):
    """A service record keyed `T#<tenant>#<KIND>#<id>` / `<KIND>`, its fields in one `data` map.

    The API and domain models (pydantic) stay the schema; the item only carries keys, the index
    keys its service gives it and a version for optimistic concurrency.

    `synced_kinds`: the kinds whose lists take `updated_since` (a service's model names them, and
    has a `by_update = ByUpdate()` index). A `UnitOfWork` keeps their `syncpk`/`syncsk` keys (the
    tenant and kind / the time of the last write and the id) on every write, in the same
    transaction, and leaves a `TombstoneItem` in their place when it deletes one.
    """

    synced_kinds: ClassVar[frozenset[str]] = frozenset()

    fields: MapAttribute[str, Any] = MapAttribute(default=dict, attr_name="data")
    version = VersionAttribute()
    syncpk = UnicodeAttribute(null=True)
    syncsk = UnicodeAttribute(null=True)

    @property
    def record_id(self) -> str:
        """The id in the key."""
        return self.pk.rsplit("#", 1)[-1]

    @property
    def data(self) -> dict[str, Any]:
        """The record's fields as plain Python values."""
        value = self.fields
        return value.as_dict() if isinstance(value, MapAttribute) else dict(value or {})

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self.fields = clean(value)  # type: ignore[assignment]


class Index(GlobalSecondaryIndex[Any]):
    """A global secondary index of a service table."""


def gsi(name: str, number: int) -> Index:
    """The index `name` keyed on `gsi<number>pk` / `gsi<number>sk`, projecting every attribute."""
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    attrs = {
        "Meta": meta,
        f"gsi{number}pk": UnicodeAttribute(hash_key=True),
        f"gsi{number}sk": UnicodeAttribute(range_key=True),
    }
    index_class: type[Index] = type(f"Index_{name}", (Index,), attrs)
    return index_class()


class ByUpdate(Index):
    """`by_update`: the records of a synced kind (`DataItem.synced_kinds`) and their tombstones,
    `T#<tenant>#<KIND>` / `<time of the last write>#<id>`: the lists' `updated_since`."""

    class Meta:
        index_name = "by_update"
        projection = AllProjection()

    syncpk = UnicodeAttribute(hash_key=True)
    syncsk = UnicodeAttribute(range_key=True)


class TombstoneItem(TableItem):
    """What stays of a deleted record of a synced kind for `TOMBSTONE_RETENTION`: in the record's
    partition (`pk` = the record's, `sk` = `TOMBSTONE`), listed in `by_update` at the time of the
    delete, with the record's `TOMBSTONE_FIELDS` and `deleted_at` in its data."""

    syncpk = UnicodeAttribute()
    syncsk = UnicodeAttribute()
    fields: MapAttribute[str, Any] = MapAttribute(default=dict, attr_name="data")
    expires_at = TTLAttribute()


def sync_time(moment: datetime) -> str:
    """A time as the `by_update` sort key writes it (UTC, microseconds, fixed width: sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_tombstone(item: Any) -> bool:
    return str(getattr(item, "sk", "")) == TOMBSTONE


def _synced_key(item: Model) -> tuple[str, str, str] | None:
    """(tenant, KIND, id) of a record of a synced kind, from its key; None for any other item."""
    if not isinstance(item, DataItem) or item.kind not in type(item).synced_kinds:
        return None
    parts = str(item.pk).split("#")
    if len(parts) != 4 or parts[0] != "T" or parts[2] != item.sk or item.sk != str(item.kind).upper():
        return None
    return parts[1], parts[2], parts[3]


def stamp(item: Model, moment: datetime | None = None) -> tuple[str, str] | None:
    """Set the `by_update` keys of a record of a synced kind written now (None for other items).
    Every write through a `UnitOfWork` does it; a write outside one calls it itself."""
    key = _synced_key(item)
    if key is None:
        return None
    tenant_id, kind, record_id = key
    item.syncpk = tenant_key(tenant_id, kind)  # type: ignore[attr-defined]
    item.syncsk = f"{sync_time(moment or clock.now())}#{record_id}"  # type: ignore[attr-defined]
    return item.syncpk, item.syncsk  # type: ignore[attr-defined]


def tombstone_of(item: Model) -> TombstoneItem | None:
    """The tombstone a delete of this record leaves (None: not a record of a synced kind)."""
    now = clock.now()
    keys = stamp(item, now)  # `deleted_at` is the time the index lists it at
    if keys is None or not isinstance(item, DataItem):
        return None
    data = item.data
    kept = {name: data[name] for name in TOMBSTONE_FIELDS if data.get(name) is not None}
    return TombstoneItem(
        pk=item.pk,
        sk=TOMBSTONE,
        kind=item.kind,
        syncpk=keys[0],
        syncsk=keys[1],
        fields={**kept, "deleted_at": clock.iso(now)},
        expires_at=now + TOMBSTONE_RETENTION,
    )


def resync(model: type[DataItem], tenant_id: str) -> dict[str, int]:
    """Give the records of `model`'s synced kinds in a tenant that have no `by_update` keys yet
    (written before the index existed) their keys, at their `updated_at` (else `created_at`), so
    that `updated_since` finds them (`kontakt tenant reindex`). The version stays (no ETag
    changes); a record written meanwhile has its keys already and is left alone. The number of
    records given keys, by kind; running it again gives none."""
    table: Any = model
    connection = table._get_connection()
    counts: dict[str, int] = {}
    for kind in sorted(model.synced_kinds):
        given = 0
        for record in table.by_type.query(tenant_key(tenant_id, kind.upper())):
            if record.syncsk or record.sk != kind.upper():
                continue
            keys = stamp(record, _recorded_at(record.data))
            if keys is None:
                continue
            try:
                connection.update_item(
                    record.pk,
                    range_key=record.sk,
                    actions=[table.syncpk.set(keys[0]), table.syncsk.set(keys[1])],
                    condition=table.pk.exists() & table.syncsk.does_not_exist(),
                )
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue
            given += 1
        counts[kind] = given
    return counts


def _recorded_at(data: dict[str, Any]) -> datetime | None:
    """A record's `updated_at` (else `created_at`) as a time; None when it has neither (then now)."""
    for name in ("updated_at", "created_at"):
        try:
            moment = datetime.fromisoformat(str(data[name]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


R = TypeVar("R", bound=DataItem)


class DataStore(Generic[R]):
    """Reads of a service's records; writes go through a UnitOfWork.

    `model` is the service's record class; it has a `by_type` index on `gsi1pk` / `gsi1sk`
    (`T#<tenant>#<KIND>` / id) listing every record of a kind in id order.
    """

    model: type[R]

    def new(self, tenant_id: str, kind: str, record_id: str, data: dict[str, Any]) -> R:
        """A record of this store's model, listed in `by_type`; callers set other index keys."""
        return self.model(
            pk=record_key(tenant_id, kind, record_id),
            sk=kind.upper(),
            kind=kind,
            gsi1pk=tenant_key(tenant_id, kind.upper()),
            gsi1sk=record_id,
            fields=clean(data),
        )

    def get(self, tenant_id: str, kind: str, record_id: str) -> R | None:
        """A record by id (consistent); the request's target when its id is the route's last path
        parameter (`shared.preconditions`: If-Match is evaluated on it, its version is the ETag)."""
        try:
            record = self.model.get(record_key(tenant_id, kind, record_id), kind.upper(), consistent_read=True)
        except self.model.DoesNotExist:
            return None
        preconditions.loaded(record)
        return record

    def get_many(self, tenant_id: str, kind: str, ids: list[str]) -> dict[str, R]:
        keys = [(record_key(tenant_id, kind, i), kind.upper()) for i in dict.fromkeys(ids)]
        return {item.record_id: item for item in self.model.batch_get(keys)}

    def get_each(self, tenant_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], R]:
        """Records of any kinds, by (kind, id), in one consistent BatchGetItem; absent ones left out."""
        wanted = [(record_key(tenant_id, kind, record_id), kind.upper()) for kind, record_id in dict.fromkeys(keys)]
        return {(item.kind, item.record_id): item for item in self.model.batch_get(wanted, consistent_read=True)}

    def add(self, uow: "UnitOfWork", item: R, on_conflict: Callable[[], Exception] | None = None) -> None:
        """Save a new record; `on_conflict`: what its existing already means (default ConcurrentUpdate)."""
        uow.save(item, condition=self.model.pk.does_not_exist(), on_conflict=on_conflict or ConcurrentUpdate)

    def replace(self, uow: "UnitOfWork", item: R, data: dict[str, Any]) -> None:
        """Save changed data; the version condition fails if someone saved in between."""
        item.data = data
        uow.save(item)

    def remove(self, uow: "UnitOfWork", item: R) -> None:
        uow.delete(item)

    def page_by_type(self, tenant_id: str, kind: str, after: str | None, limit: int) -> list[R]:
        model: Any = self.model
        condition = model.gsi1sk > after if after else None
        return list(
            model.by_type.query(tenant_key(tenant_id, kind.upper()), range_key_condition=condition, limit=limit)
        )

    def all_of_kind(self, tenant_id: str, kind: str, page_size: int = 1000) -> Iterator[R]:
        """Every record of a kind in a tenant, paged through the by_type index."""
        model: Any = self.model
        yield from model.by_type.query(tenant_key(tenant_id, kind.upper()), page_size=page_size)


class OutboxItem(TableItem):
    """An event waiting for the stream publisher; expires once surely published."""

    event_type = UnicodeAttribute()
    envelope = UnicodeAttribute()
    expires_at = TTLAttribute()

    @classmethod
    def of(cls, event: Envelope) -> "OutboxItem":
        return cls(
            pk=f"OUTBOX#{event.id}",
            sk="OUTBOX",
            kind="outbox",
            event_type=event.type,
            envelope=event.model_dump_json(),
            expires_at=clock.now() + OUTBOX_RETENTION,
        )


class DedupeItem(TableItem):
    """Marks that one consumer has applied one event."""

    expires_at = TTLAttribute()

    @staticmethod
    def key(consumer: str, event_id: str) -> str:
        return f"DEDUPE#{consumer}#{event_id}"


class CounterItem(TableItem):
    """A per-tenant running number for one module (human numbers like ACC-1001)."""

    value = NumberAttribute(default=0)


class AlreadyApplied(Exception):
    """The event was applied by an earlier delivery; nothing was written now."""


class ConcurrentUpdate(Conflict):
    """Another writer changed an item this unit of work read; the command may be retried."""

    def __init__(self, detail: str = "The record was changed by someone else; reload and retry.") -> None:
        super().__init__(detail)


@dataclass
class _Op:
    group: int  # the order pynamodb sends groups in: check, delete, put, update
    apply: Callable[[TransactWrite], None]
    on_conflict: Callable[[], Exception]
    key: tuple[str, str] | None = None  # the item it touches
    record: tuple[Any, bool] | None = None  # the record it writes; whether stored (under its version)


@dataclass
class _Counter:
    seen: int
    taken: int


def transaction() -> TransactWrite:
    """A pynamodb transaction on the bound table's cached connection (a new Connection would build
    a new client per transaction). For a transaction a UnitOfWork cannot express."""
    return TransactWrite(connection=TableItem._get_connection().connection)


@dataclass
class UnitOfWork:
    """The writes of one command, committed together in one transaction."""

    ops: list[_Op] = field(default_factory=list)
    counters: dict[tuple[str, str], _Counter] = field(default_factory=dict)
    additions: dict[tuple[str, str], tuple[Model, dict[str, int]]] = field(default_factory=dict)
    refused: list[_Op] = field(default_factory=list)  # after a cancelled commit: the ops whose condition failed
    # What to do once the transaction committed (e.g. put its messages on a queue): never run when it fails.
    afterwards: list[Callable[[], None]] = field(default_factory=list)

    def save(self, item: Model, condition: Any = None, on_conflict: Callable[[], Exception] = ConcurrentUpdate) -> None:
        stamp(item)
        op = _Op(2, lambda tx: tx.save(item, condition=condition), on_conflict, _key(item), _versioned(item))
        self.ops.append(op)

    def update(
        self,
        item: Model,
        actions: list[Any],
        condition: Any = None,
        on_conflict: Callable[[], Exception] = ConcurrentUpdate,
        check_version: bool = True,
    ) -> None:
        """Update an item; a record read with its version only if nobody saved it since, unless
        `check_version` is False: then `condition` alone decides (e.g. its status), and the version
        still goes up, so a writer that read before fails."""
        keys = stamp(item)
        if keys is not None:
            model: Any = type(item)
            actions = [*actions, model.syncpk.set(keys[0]), model.syncsk.set(keys[1])]
        checked = check_version
        # a fresh list each time: pynamodb appends the version's action to it (an op may be applied again,
        # shared/batched.py)
        apply = lambda tx: tx.update(item, list(actions), condition=condition, add_version_condition=checked)  # noqa: E731
        self.ops.append(_Op(3, apply, on_conflict, _key(item), _versioned(item, check_version)))

    def delete(self, item: Model, condition: Any = None, check_version: bool = True) -> None:
        """Delete; by default only if nobody saved the item since it was read (its version)."""

        def apply(tx: TransactWrite) -> None:
            tx.delete(item, condition=condition, add_version_condition=check_version)

        self.ops.append(_Op(1, apply, ConcurrentUpdate, _key(item), _versioned(item, check_version)))
        tombstone = tombstone_of(item)
        if tombstone is not None:  # listed by `updated_since` for TOMBSTONE_RETENTION
            self.ops.append(_Op(2, lambda tx: tx.save(tombstone), ConcurrentUpdate, _key(tombstone)))

    def check(self, model: type[Model], pk: str, sk: str, condition: Any, on_fail: Callable[[], Exception]) -> None:
        """Commit only if `condition` holds for that item (e.g. the account a contact names exists)."""
        self.ops.append(_Op(0, lambda tx: tx.condition_check(model, pk, sk, condition=condition), on_fail, (pk, sk)))

    def publish(self, event: Envelope) -> None:
        item = OutboxItem.of(event)
        self.ops.append(_Op(2, lambda tx: tx.save(item, condition=OutboxItem.pk.does_not_exist()), AlreadyApplied))

    def mark_applied(self, consumer: str, event_id: str) -> None:
        item = DedupeItem(
            pk=DedupeItem.key(consumer, event_id),
            sk="DEDUPE",
            kind="dedupe",
            expires_at=clock.now() + DEDUPE_RETENTION,
        )
        self.ops.append(_Op(2, lambda tx: tx.save(item, condition=DedupeItem.pk.does_not_exist()), AlreadyApplied))

    def take_number(self, tenant_id: str, module: str) -> int:
        """The next running number of a module, taken in this transaction (optimistically)."""
        key = (tenant_id, module)
        if key not in self.counters:
            seen = _read_counter(tenant_id, module)
            self.counters[key] = _Counter(seen=seen, taken=seen)
        self.counters[key].taken += 1
        return self.counters[key].taken

    def add(self, item: CounterItem, delta: int) -> None:
        """Add `delta` to a counter cell (one update per cell, however often it is added to)."""
        self.add_to(item, value=delta)

    def add_to(self, item: Model, **deltas: int) -> None:
        """Add to number attributes of an item, unconditionally: one update per item however often
        it is added to, also across the units a batch absorbs (e.g. a tenant's SMS balance charged
        for each message of a batch, services/sms/credits.py)."""
        key = _key(item)
        _, totals = self.additions.get(key, (item, {}))
        summed = dict(totals)
        for name, delta in deltas.items():
            summed[name] = summed.get(name, 0) + delta
        self.additions[key] = (item, summed)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this unit of work has committed (not when its transaction fails): what
        must follow the writes and cannot be in the transaction, such as queueing what it wrote."""
        self.afterwards.append(action)

    def absorb(self, other: "UnitOfWork") -> None:
        """Take another unit's writes into this one (a consumer's batch of events, one transaction)."""
        if other.counters:
            raise ValueError("a unit of work that takes numbers commits alone")
        self.ops.extend(other.ops)
        self.afterwards.extend(other.afterwards)
        for item, deltas in other.additions.values():
            self.add_to(item, **deltas)

    def __len__(self) -> int:
        return len(self.ops) + len(self.counters) + len(self.additions)

    def commit(self) -> None:
        ops = _without_repeated_checks(self.ops) + [self._counter_op(key, c) for key, c in self.counters.items()]
        ops += [self._addition_op(item, deltas) for item, deltas in self.additions.values() if any(deltas.values())]
        if not ops:
            self._afterwards()
            return
        preconditions.before_commit([op.record for op in self.ops if op.record is not None])
        joined, extra = _joined.get(), UnitOfWork()
        if joined is not None and len(ops) < MAX_TRANSACTION_ITEMS:
            joined.stage(extra)
            ops += extra.ops
        if len(ops) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a unit of work holds at most {MAX_TRANSACTION_ITEMS} items, not {len(ops)}")
        ordered = sorted(ops, key=lambda op: op.group)  # stable: the order DynamoDB reports reasons in
        try:
            with transaction() as tx:
                for op in ordered:
                    op.apply(tx)
        except TransactWriteError as exc:
            self.refused = _refused(exc, ordered)
            raise _cause(exc, ordered) from exc
        if joined is not None and extra.ops:
            joined.committed()
        self._afterwards()

    def _afterwards(self) -> None:
        actions, self.afterwards = self.afterwards, []
        for action in actions:
            action()

    @staticmethod
    def _addition_op(item: Model, deltas: dict[str, int]) -> _Op:
        model: Any = type(item)
        actions: list[Any] = [getattr(model, name).add(delta) for name, delta in deltas.items() if delta]
        actions.append(model.kind.set(getattr(item, "kind", None)))
        return _Op(3, lambda tx: tx.update(item, actions), ConcurrentUpdate, _key(item))

    @staticmethod
    def _counter_op(key: tuple[str, str], counter: _Counter) -> _Op:
        tenant_id, module = key
        item = CounterItem(pk=tenant_key(tenant_id, "COUNTER"), sk=module, kind="counter")
        condition = CounterItem.value == counter.seen if counter.seen else CounterItem.pk.does_not_exist()
        actions: list[Any] = [CounterItem.value.set(counter.taken), CounterItem.kind.set("counter")]
        return _Op(3, lambda tx: tx.update(item, actions, condition=condition), ConcurrentUpdate)


class Joined:
    """Writes that join the first transaction of the current request (`joining`)."""

    def stage(self, uow: UnitOfWork) -> None:
        """Add the writes to this unit of work."""

    def committed(self) -> None:
        """They committed (a later transaction of the request may skip them)."""


_joined: ContextVar[Joined | None] = ContextVar("kontakt_joined", default=None)


@contextmanager
def joining(joined: Joined | None) -> Iterator[None]:
    """Every unit of work committed inside also commits `joined`'s writes, while it has room: the
    request's idempotency key (`shared/idempotency.py`) commits with the command's first write.
    `None`: the writes inside join nothing (the kernel's own, such as a new tenant's defaults)."""
    token = _joined.set(joined)
    try:
        yield
    finally:
        _joined.reset(token)


def _read_counter(tenant_id: str, module: str) -> int:
    try:
        item = CounterItem.get(tenant_key(tenant_id, "COUNTER"), module, consistent_read=True)
    except CounterItem.DoesNotExist:
        return 0
    return int(item.value or 0)


def _versioned(item: Model, checked: bool = True) -> tuple[Any, bool] | None:
    """A record written, and whether it is a stored one read with its version (its write is
    conditioned on it); None for items that are no records (outbox, dedupe, counters)."""
    if not isinstance(item, DataItem):
        return None
    return (item, checked and item.version is not None)


def _key(item: Model) -> tuple[str, str]:
    return (str(getattr(item, "pk", "")), str(getattr(item, "sk", "")))


def _without_repeated_checks(ops: list[_Op]) -> list[_Op]:
    """DynamoDB takes one operation per item in a transaction: drop a check of an item already
    checked, or written by the same unit of work (e.g. owner and account manager are one user)."""
    written = {op.key for op in ops if op.group != 0}
    seen: set[tuple[str, str] | None] = set()
    kept = []
    for op in ops:
        if op.group == 0 and (op.key in written or op.key in seen):
            continue
        seen.add(op.key)
        kept.append(op)
    return kept


def _refused(exc: TransactWriteError, ordered: list[_Op]) -> list[_Op]:
    """The ops of a cancelled transaction whose own condition failed (none for other errors)."""
    try:
        reasons = exc.cancellation_reasons or []
    except AttributeError:
        return []
    return [op for op, r in zip(ordered, reasons, strict=False) if r is not None and r.code == "ConditionalCheckFailed"]


def _cause(exc: TransactWriteError, ordered: list[_Op]) -> Exception:
    """The domain meaning of a cancelled transaction, from the first failed condition."""
    try:
        reasons = exc.cancellation_reasons or []
    except AttributeError:  # not a cancellation: a transport or validation error
        return exc
    for op, reason in zip(ordered, reasons, strict=False):
        if reason is not None and reason.code == "ConditionalCheckFailed":
            return op.on_conflict()
    if exc.cause_response_code == "TransactionConflictException" or any(
        r is not None and r.code == "TransactionConflict" for r in reasons
    ):
        return ConcurrentUpdate()
    return exc


def update_if(item: Model, actions: list[Any], condition: Any) -> bool:
    """One UpdateItem of `item` on `condition` (no version check); False when the condition failed:
    a job's progress, a state's step, written once however many times it is tried."""
    try:
        item.update(actions, condition=condition, add_version_condition=False)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def run_with_retries(command: Callable[[], Any], attempts: int = 12) -> Any:
    """Run a command again when a concurrent writer won the race (counters, versions).

    Waits a random, growing while between tries so that racing writers spread out.
    """
    for attempt in range(attempts):
        try:
            return command()
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
    return None
