"""List filters and sort orders served by an index, never a scan: a record's index entries.

A service whose lists filter or sort by a field keeps index entries (`Entry`) beside each record,
written in the transaction that writes the record: one item per filter value in the record's own
partition (`sk` = `IX#<partition><SEP><sort>`), listed in the table's `by_term` index (gsi4) under
`T#<tenant>#<partition>`. A filtered list is then one query of one index partition, O(page) at any
table size (docs/decisions.md, "List filters and search"):

- `<KIND>#<param>#<value>`, sort key the id: an exact filter (`status=sent`, `template_id=...`);
- `<KIND>#<field>` (and, for owned records, `<KIND>#owner#<owner>#<field>`), sort key
  `<value><SEP><id>`: a sort by that field, its prefix (`name=acm`) or range (`send_from`/`send_to`).

A kind's `Terms` say which entries it writes. An entry carries what `Terms.carry` copies from the
record (the directory's lists read their items from the entries); without `carry` it carries
nothing and a list reads its page's records in one BatchGetItem.

A write stages the record's entries (`stage`): the ones it has are read back from its partition
(one consistent query, so entries of older rules go too), an entry that is as wanted is not
written again, a new or changed one is put and one no longer wanted is deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Literal, TypeVar, cast

from pydantic import BaseModel
from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute

from shared.errors import BadRequest, FieldError
from shared.pagination import Page
from shared.service import Caller, M, kind_page, model_of, partition_page, sync_page
from shared.store import (
    ConcurrentUpdate,
    DataItem,
    DataStore,
    TableItem,
    UnitOfWork,
    record_key,
    run_with_retries,
    tenant_key,
)

SEP = "\x1f"  # below every character of a value: a value's exact match sorts before its longer ones
TOP = "\U0010ffff"  # above every character, also in UTF-8 byte order (DynamoDB compares bytes)
ENTRY_PREFIX = "IX#"

Order = Literal["asc", "desc"]


class Entry(TableItem):
    """An index entry of a record: in the record's partition (`pk` = the record's, `sk` =
    `IX#...`), listed in `by_term` under one filter value, carrying `Terms.carry` of the record's
    data and its version (both empty when the kind carries nothing), so `by_term` reads it back as
    a record of that data."""

    gsi4pk = UnicodeAttribute()
    gsi4sk = UnicodeAttribute()
    fields: MapAttribute[str, Any] = MapAttribute(default=dict, attr_name="data")
    version = NumberAttribute()


def text_key(value: Any) -> str:
    """A name or word as the index keeps it: case-folded, whitespace collapsed, no control characters."""
    return " ".join("".join(c for c in str(value) if c >= " ").casefold().split())


def plain(value: Any) -> str:
    return str(value)


def flag(value: Any) -> str:
    """A boolean as a filter value (`true`/`false`, as the query parameter reads)."""
    return "true" if value in (True, "true", "True", "1") else "false"


def values(*names: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A record's values of these fields (a list field's items each; absent and empty left out)."""

    def of(data: Mapping[str, Any]) -> list[Any]:
        found: list[Any] = []
        for name in names:
            value = data.get(name)
            if isinstance(value, list):
                found.extend(value)
            elif value is not None and value != "":
                found.append(value)
        return found

    return of


Exact = tuple[Callable[[Any], str], Callable[[Mapping[str, Any]], list[Any]]]
"""An exact filter: (the normaliser applied to the record's values and to the filter's value, the
record's values)."""


@dataclass(frozen=True)
class Terms:
    """The entries of one kind: its exact filters (parameter -> `Exact`) and its ordered fields
    (field -> the record's sort value, e.g. the case-folded name or a UTC time); `owned`: the
    ordered fields also per owner (`data["owner"]["id"]`), for lists a user sees only partly."""

    exact: Mapping[str, Exact] = field(default_factory=dict)
    ordered: Mapping[str, Callable[[Mapping[str, Any]], str]] = field(default_factory=dict)
    owned: bool = False
    carry: Callable[[str, Mapping[str, Any]], dict[str, Any]] | None = None

    def keys(self, kind: str, record_id: str, data: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(partition, sort key, what the entry carries) of each entry the record wants."""
        KIND = kind.upper()
        copy = self.carry(record_id, data) if self.carry else {}
        keys: list[tuple[str, str, dict[str, Any]]] = []
        for param, (normal, of) in self.exact.items():
            for value in dict.fromkeys(normal(v) for v in of(data)):
                if value:
                    keys.append((f"{KIND}#{param}#{value}", record_id, copy))
        owner = (data.get("owner") or {}).get("id") if self.owned else None
        for name, sort_value in self.ordered.items():
            value = sort_value(data)
            if value:
                keys.append((f"{KIND}#{name}", f"{value}{SEP}{record_id}", copy))
                if owner:
                    keys.append((f"{KIND}#owner#{owner}#{name}", f"{value}{SEP}{record_id}", copy))
        return keys


def entries(
    tenant: str, kind: str, record_id: str, keys: list[tuple[str, str, dict[str, Any]]], version: int
) -> list[Entry]:
    """The entry items of `keys` (`Terms.keys`, and a service's own such as the search's terms)."""
    pk = record_key(tenant, kind, record_id)
    return [
        Entry(
            pk=pk,
            sk=f"{ENTRY_PREFIX}{partition}{SEP}{sort}",
            kind="index",
            gsi4pk=tenant_key(tenant, partition),
            gsi4sk=sort,
            fields=value,
            version=version if value else 0,
        )
        for partition, sort, value in keys
    ]


def _carried(entry: Entry) -> tuple[str, str, Any, int]:
    value = entry.fields
    data = value.as_dict() if isinstance(value, MapAttribute) else dict(value or {})
    return (entry.gsi4pk, entry.gsi4sk, data, int(entry.version or 0))


def stage(uow: UnitOfWork, tenant: str, kind: str, record_id: str, wanted: list[Entry], new: bool) -> None:
    """Write a record's entries with it in `uow`: `wanted` (none: the record is deleted) replace
    the ones it has. `new`: the record did not exist (no entries to read back)."""
    if new:
        for entry in wanted:
            uow.save(entry)
        return
    pk = record_key(tenant, kind, record_id)
    have = {e.sk: e for e in Entry.query(pk, Entry.sk.startswith(ENTRY_PREFIX), consistent_read=True)}
    for entry in wanted:
        current = have.pop(entry.sk, None)
        if current is None or _carried(current) != _carried(entry):
            uow.save(entry)
    for entry in have.values():
        uow.delete(entry, check_version=False)


def stage_terms(
    uow: UnitOfWork,
    terms: Terms,
    tenant: str,
    kind: str,
    record_id: str,
    data: Mapping[str, Any] | None,
    version: int,
    new: bool,
) -> None:
    """`stage` of the entries `terms` want for the record's `data` (None: deleted); `version`: the
    record's version once `uow` commits."""
    keys = terms.keys(kind, record_id, data) if data is not None else []
    stage(uow, tenant, kind, record_id, entries(tenant, kind, record_id, keys, version), new)


# ----------------------------------------------------------------------------- lists


def refuse(param: str, message: str) -> BadRequest:
    """The 400 of a parameter the list cannot serve with the others sent (`unsupported_combination`)."""
    return BadRequest(message, [FieldError(field=f"query.{param}", message=message, code="unsupported_combination")])


@dataclass(frozen=True)
class Plan:
    """What one page of a list reads: at most one filter, and the order.

    `param`/`value`: an exact filter (id order); `field` with `prefix` or `lower`/`upper`: a
    prefix or range of an ordered field (that field's order); `field` alone: sorted by it.
    `since`: an incremental sync (`updated_since`, `shared.service.sync_page`), nothing else."""

    param: str | None = None
    value: str | None = None
    field: str | None = None
    prefix: str | None = None
    lower: str | None = None
    upper: str | None = None
    desc: bool = False
    since: datetime | None = None

    @property
    def scope(self) -> str:
        return f"{self.param}:{self.value}:{self.field}:{self.prefix}:{self.lower}:{self.upper}:{self.desc}"


def plan(
    filters: Mapping[str, Any],
    sort: str | None,
    order: Order,
    *,
    prefixes: Mapping[str, str] | None = None,
    ranges: Mapping[str, tuple[str, str]] | None = None,
    updated_since: datetime | None = None,
    default_order: Order = "asc",
) -> Plan:
    """The one filter and order of a list request, or a 400 naming the parameter that cannot be
    combined: a second filter, or a sort the filter's index does not serve.

    `filters`: every filter parameter as sent (None: not sent). `prefixes`: prefix parameter ->
    its ordered field (`name` -> `name`). `ranges`: ordered field -> its (from, to) parameters,
    which together are one filter (either alone too). `sort` None: id, or the filter's field.
    `updated_since`: an incremental sync, which takes no filter, sort or `order` other than
    `default_order` (`only_since`)."""
    if updated_since is not None:
        only_since({**filters, "sort": sort, "order": None if order == default_order else order})
        return Plan(since=updated_since)
    prefixes, ranges = prefixes or {}, ranges or {}
    in_range = {param: name for name, pair in ranges.items() for param in pair}
    given = [(param, value) for param, value in filters.items() if value is not None]
    groups = list(dict.fromkeys(in_range.get(param, param) for param, _ in given))
    if len(groups) > 1:
        first = next(param for param, _ in given if in_range.get(param, param) == groups[0])
        second = next(param for param, _ in given if in_range.get(param, param) == groups[1])
        raise refuse(second, f"Combine {first} with no other filter.")
    desc = order == "desc"
    if not given:
        return Plan(field=None if sort in (None, "id") else sort, desc=desc)
    param, value = given[0]
    ordered = prefixes.get(param) or in_range.get(param)
    if ordered is not None:
        if sort not in (None, ordered):
            raise refuse("sort", f"The {param} filter lists in {ordered} order (sort={ordered}).")
        if param in prefixes:
            return Plan(field=ordered, prefix=text_key(value), desc=desc)
        low_param, high_param = ranges[ordered]
        sent = dict(given)
        low, high = sent.get(low_param), sent.get(high_param)
        return Plan(field=ordered, lower=str(low) if low else None, upper=str(high) if high else None, desc=desc)
    if sort not in (None, "id"):
        raise refuse("sort", f"The {param} filter lists in id order (sort=id).")
    return Plan(param=param, value=str(value), desc=desc)


def only_since(others: Mapping[str, Any]) -> None:
    """The 400 naming the first of a list's `others` parameters sent (not None) with
    `updated_since`: a sync lists every change in update order, so it takes no filter or order."""
    for param, value in others.items():
        if value is not None:
            raise refuse(param, f"updated_since takes no {param}: it lists every change in update order.")


class _Ref(BaseModel):
    id: str


def term_page(
    caller: Caller,
    kind: str,
    terms: Terms,
    query: Plan,
    model: type[M],
    cursor: str | None,
    limit: int,
    *,
    owners: set[str] | None = None,
    keep: Callable[[list[Any]], list[Any]] | None = None,
    stored_as: Mapping[str, list[str]] | None = None,
) -> Page[M]:
    """One page of a kind's `by_term` partitions as `query` (from `plan`) says: an exact filter's
    partition in id order, an ordered field's partition (its prefix or range), or with `owners` the
    ordered partitions of those owners merged. `keep`: a page-wise check of the entries read (the
    permission check). `stored_as`: an exact filter's value -> the stored values it reads (a status
    that is shown for several), their partitions merged."""
    index, sort_key = caller.store.model.by_term, caller.store.model.gsi4sk  # type: ignore[attr-defined]
    KIND = kind.upper()
    scope = f"{kind}:{query.scope}"
    read: type[BaseModel] = model if terms.carry else _Ref
    lower = upper = None
    if query.field is not None:
        if query.prefix is not None:
            lower, upper = query.prefix, query.prefix + TOP
        elif query.lower is not None or query.upper is not None:
            lower, upper = query.lower, query.upper
        if owners is None:
            hash_key: str | list[str] = tenant_key(caller.tenant, f"{KIND}#{query.field}")
        else:
            hash_key = [tenant_key(caller.tenant, f"{KIND}#owner#{o}#{query.field}") for o in sorted(owners)]
    else:
        assert query.param is not None and query.value is not None
        normal, _ = terms.exact[query.param]
        stored = (stored_as or {}).get(query.value, [query.value])
        keys = [tenant_key(caller.tenant, f"{KIND}#{query.param}#{normal(v)}") for v in stored]
        hash_key = keys[0] if len(keys) == 1 else keys
    found = partition_page(
        caller, scope, cursor, limit, index, hash_key, sort_key, read, query.desc,
        lower=lower, upper=upper, keep=keep,
    )  # fmt: skip
    if terms.carry:
        return found  # type: ignore[return-value]
    return _records(caller, kind, [ref.id for ref in cast(list[_Ref], found.items)], model, found.next_cursor)


def _records(caller: Caller, kind: str, ids: list[str], model: type[M], next_cursor: str | None) -> Page[M]:
    """The records of `ids` in that order (one consistent BatchGetItem)."""
    records = caller.store.get_each(caller.tenant, [(kind, i) for i in ids])
    items = [model_of(records[(kind, i)], model) for i in ids if (kind, i) in records]
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def find(
    caller: Caller,
    kind: str,
    terms: Terms,
    model: type[M],
    cursor: str | None,
    limit: int,
    query: Plan,
    *,
    stored_as: Mapping[str, list[str]] | None = None,
) -> Page[M]:
    """One page of a list every caller who may list the kind sees whole (no owner's partitions):
    unfiltered in id order from `by_type`, else from `by_term` (`term_page`); a sync
    (`Plan.since`) from `by_update` (`sync_page`)."""
    if query.since is not None:
        return sync_page(caller, kind, query.since, cursor, limit, model)
    if query.param is None and query.field is None:
        if not query.desc:
            return kind_page(caller, kind, cursor, limit, model)
        index, sort_key = caller.store.model.by_type, caller.store.model.gsi1sk  # type: ignore[attr-defined]
        key = tenant_key(caller.tenant, kind.upper())
        return partition_page(caller, f"{kind}:desc", cursor, limit, index, key, sort_key, model, True)
    return term_page(caller, kind, terms, query, model, cursor, limit, stored_as=stored_as)


# ----------------------------------------------------------------------------- stores

R = TypeVar("R", bound=DataItem)


class IndexedStore(DataStore[R]):
    """A store whose writes keep their records' entries: `terms` names the kinds that have them,
    and `add`, `replace` and `remove` stage a record's entries in the same unit of work, so no
    command of those kinds can write the record without them. A write that changes no filtered
    or sorted value reads the entries back (one query) and writes none."""

    terms: ClassVar[Mapping[str, Terms]] = {}

    def add(self, uow: UnitOfWork, item: R, on_conflict: Callable[[], Exception] | None = None) -> None:
        super().add(uow, item, on_conflict)
        self._stage(uow, item, item.data, new=True)

    def replace(self, uow: UnitOfWork, item: R, data: dict[str, Any]) -> None:
        super().replace(uow, item, data)
        self._stage(uow, item, item.data, new=False)

    def remove(self, uow: UnitOfWork, item: R) -> None:
        super().remove(uow, item)
        self._stage(uow, item, None, new=False)

    def reindex(self, tenant_id: str) -> dict[str, int]:
        """Write the entries of every record of the `terms` kinds of a tenant again, from the record
        as it is (`kontakt tenant reindex`: records written before their entries existed, or after
        the entries' rules changed). One transaction per record, which commits only if the record's
        version is the one read (else it is read again); running it again writes nothing."""
        counts: dict[str, int] = {}
        for kind in self.terms:
            ids = [record.record_id for record in self.all_of_kind(tenant_id, kind)]
            for record_id in ids:
                run_with_retries(partial(self._reindex_one, tenant_id, kind, record_id))
            counts[kind] = len(ids)
        return counts

    def _reindex_one(self, tenant_id: str, kind: str, record_id: str) -> None:
        record = self.get(tenant_id, kind, record_id)
        if record is None:
            return  # deleted meanwhile: its delete took its entries
        uow = UnitOfWork()
        uow.check(self.model, record.pk, record.sk, self.model.version == record.version, ConcurrentUpdate)
        self._stage(uow, record, record.data, new=False, version=record.version or 1)
        uow.commit()

    def _stage(
        self, uow: UnitOfWork, item: R, data: Mapping[str, Any] | None, new: bool, version: int | None = None
    ) -> None:
        """Stage the entries of `item` (with `data`, None: deleted); `version`: the record's once
        `uow` commits (default: the one its write gives it)."""
        terms = self.terms.get(item.kind)
        if terms is not None:
            tenant = item.pk.split("#", 2)[1]  # `T#<tenant>#...`; a tenant id has no `#`
            after = version if version is not None else (item.version or 0) + 1
            stage_terms(uow, terms, tenant, item.kind, item.record_id, data, after, new)
