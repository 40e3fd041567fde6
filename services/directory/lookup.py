"""Finding records: list filters, sort by name, batch reads and the quick-find search, all O(page).

Every account, contact and user (and by name every group, class, classification type and target
group) writes index entries (the kernel's `shared/lookup.py`) in the transaction that writes the
record: one item per filter value in the record's own partition (`sk` = `IX#...`), each listed
in the `by_term` index under `T#<tenant>#<partition>` and carrying a copy of the record's data
and version, so a filtered list is one query of one index partition that reads back the records
themselves (docs/decisions.md, "List filters and search"):

- `<KIND>#<filter>#<value>`, sort key the id: exact filters (a contact's email, phone, class; an
  account's status, number, class; a user's email, role, group; a class's classification type);
- `<KIND>#name` and `<KIND>#owner#<owner>#name`, sort key `<name>\\x1f<id>`: the name prefix
  filter and `sort=name`, tenant-wide and per owner (a user who sees only some owners' records
  reads their partitions merged, never the tenant's filtered);
- `SEARCH#0` (name words, number) and `SEARCH#1` (email, phone's digits), sort key
  `<term>\\x1f<kind>\\x1f<id>`: the search's terms of accounts and contacts; `\\x1f` sorts below
  every character of a term, so a term's exact matches come before its longer prefixes;
- `<KIND>#dup#<blocking key>`, sort key the id, carrying nothing: an account's or contact's
  duplicate-matching keys (`matching/blocking.py`: email, each phone number as E.164 read with the
  tenant's `default_country`, business id, name keys), which check on create queries
  (`duplicate_checks.py`). Carrying nothing, an entry is rewritten only when its key changes.

A write replaces the record's entries: the ones it has now are read back from its partition (one
consistent query), the new set is put and the ones no longer wanted are deleted. A target group's
entries carry no copy (its lists read the page's records in one BatchGetItem).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.directory.domain.models import Owner
from services.directory.service import Caller, duplicate_rules_setting, readable, service_caller
from services.directory.store import DirectoryStore, Record
from shared.errors import ValidationFailed
from shared.lookup import (
    ENTRY_PREFIX,
    SEP,
    TOP,
    Entry,
    Exact,
    Order,
    Terms,
    entries,
    plain,
    plan,
    refuse,
    stage,
    term_page,
    text_key,
    values,
)
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.service import M, kind_page, model_of, partition_page, sync_page
from shared.store import ConcurrentUpdate, UnitOfWork, run_with_retries, tenant_key

SEARCH = "SEARCH"
MIN_QUERY = 2  # characters of the search's first word
MAX_TERMS = 12  # search terms per record (name words first)
MODULES = {"account": "accounts", "contact": "contacts"}
# The module whose permission check decides which of a kind's records a caller sees.
VISIBILITY = {**MODULES, "target_group": "target_groups"}

Sort = Literal["id", "name"]
__all__ = ["ENTRY_PREFIX", "SEP", "TOP", "Order", "Sort", "text_key"]


def email_key(value: Any) -> str:
    return str(value).strip().casefold()


def phone_key(value: Any) -> str:
    """The digits of a phone number (`+358 40 123` and `35840123` are one number)."""
    return re.sub(r"\D", "", str(value))


# The exact filters of each kind: parameter -> (normaliser, the record's values of it).
EXACT: dict[str, dict[str, Exact]] = {
    "contact": {
        "email": (email_key, values("email")),
        "phone": (phone_key, values("phone", "mobile")),
        "class_id": (plain, values("classes")),
    },
    "account": {
        "status": (plain, values("status")),
        "number": (text_key, values("number")),
        "class_id": (plain, values("classes")),
    },
    "user": {
        "email": (email_key, values("email")),
        "role": (plain, values("role")),
        "group_id": (plain, values("groups")),
    },
    "class": {"classification_type_id": (plain, values("classification_type_id"))},
}


def _copy(record_id: str, data: Any) -> dict[str, Any]:
    return {"id": record_id, **data}


def terms_of(kind: str) -> Terms:
    """A kind's filter and name entries: each carries the record (lists read their items from them),
    but a target group's carry nothing (its conditions are long: its lists read the records)."""
    name = partial(name_of, kind)
    if kind == "target_group":
        return Terms(ordered={"name": name}, owned=True)
    return Terms(exact=EXACT.get(kind, {}), ordered={"name": name}, owned=True, carry=_copy)


def name_of(kind: str, data: dict[str, Any]) -> str:
    """What a record is sorted and prefix-filtered by: a contact's "last first", others' name."""
    if kind == "contact":
        return text_key(f"{data.get('last_name') or ''} {data.get('first_name') or ''}")
    return text_key(data.get("name") or "")


def search_terms(kind: str, data: dict[str, Any]) -> dict[str, int]:
    """An account's or contact's search terms and their rank (0 name and number, 1 email and phone)."""
    words = [data.get("first_name"), data.get("last_name")] if kind == "contact" else [data.get("name")]
    terms: dict[str, int] = {}
    for word in text_key(" ".join(w for w in words if w)).split()[: MAX_TERMS - 4]:
        terms.setdefault(word, 0)
    if data.get("number"):
        terms.setdefault(text_key(data["number"]), 0)
    if data.get("email"):
        terms.setdefault(email_key(data["email"]), 1)
    for phone in (data.get("phone"), data.get("mobile")):
        digits = phone_key(phone or "")
        if len(digits) >= MIN_QUERY:
            terms.setdefault(digits, 1)
    return terms


DUPLICATE = "dup"
MAX_BLOCK = 50  # records a duplicate key may have and still name candidates on create (BlockPolicy.max_block)


def duplicate_partition(kind: str, key: str) -> str:
    """The index partition of the records of `kind` that have the duplicate-matching `key`."""
    return f"{kind.upper()}#{DUPLICATE}#{key}"


def duplicate_keys(kind: str, data: Mapping[str, Any], country: str) -> tuple[str, ...]:
    """An account's or contact's duplicate-matching keys (none for an erased contact), phone
    numbers read as `country`'s when they lack a country code."""
    if kind not in MODULES or data.get("erased"):
        return ()
    from services.directory.matching.prepare import needed_fields, prepare  # with its first key

    entity = MODULES[kind]
    return prepare(data, entity, country, needed_fields(entity, ())).keys  # type: ignore[arg-type]


def key_country(caller: Caller, kind: str) -> str:
    """The country the tenant's duplicate keys of `kind` read national phone numbers as (its
    rules' `default_country`, read with the tenant's settings when the request opens)."""
    return str(caller.setting(duplicate_rules_setting(MODULES[kind])).get("default_country") or "FI")


def _entries(
    tenant: str, kind: str, record_id: str, data: dict[str, Any], version: int, country: str | None
) -> list[Entry]:
    keys = terms_of(kind).keys(kind, record_id, data)
    if kind in MODULES:
        if country is None:
            raise ValueError(f"the tenant's default country is needed for the keys of a {kind}")
        keys.extend((duplicate_partition(kind, key), record_id, {}) for key in duplicate_keys(kind, data, country))
        terms = search_terms(kind, data)
        hit = {
            "kind": kind,
            "number": data.get("number"),
            "name": hit_name(kind, data),
            "email": data.get("email"),
            "phone": data.get("phone") or data.get("mobile"),
            "owner": data.get("owner"),
            "terms": sorted(terms),
            "names": sorted(t for t, rank in terms.items() if rank == 0),
        }
        for term, rank in terms.items():
            keys.append((f"{SEARCH}#{rank}", f"{term}{SEP}{kind}{SEP}{record_id}", hit))
    return entries(tenant, kind, record_id, keys, version)


def hit_name(kind: str, data: dict[str, Any]) -> str:
    if kind == "contact":
        return " ".join(str(n) for n in (data.get("first_name"), data.get("last_name")) if n)
    return str(data.get("name") or "")


def stage_entries(
    uow: UnitOfWork,
    tenant: str,
    kind: str,
    record_id: str,
    data: dict[str, Any] | None,
    version: int,
    new: bool,
    country: str | None = None,
) -> None:
    """Write a record's index entries with it in `uow` (`data` None: the record is deleted).

    `version`: the record's version once `uow` commits. `new`: the record did not exist (no
    entries to read back). `country`: an account's or contact's `key_country`."""
    wanted = _entries(tenant, kind, record_id, data, version, country) if data is not None else []
    stage(uow, tenant, kind, record_id, wanted, new)


# ----------------------------------------------------------------------------- lists


def may_see(caller: Caller, kind: str) -> Callable[[Any], bool] | None:
    """The permission check of one record (or tombstone) of an owned kind for a caller who does
    not see them all (None: the caller sees every record of the kind). A record without an owner
    is shown to nobody so limited."""
    module = VISIBILITY.get(kind)
    if module is None or caller.visible_owners(module) is None:  # type: ignore[arg-type]
        return None

    def visible(record: Any) -> bool:
        owner = record.data.get("owner")
        public = bool(record.data.get("public"))
        return owner is not None and caller.can_read(module, Owner.model_validate(owner), public)  # type: ignore[arg-type]

    return visible


def find(
    caller: Caller,
    kind: str,
    model: type[M],
    cursor: str | None,
    limit: int,
    filters: dict[str, str | None],
    sort: Sort | None,
    order: Order,
    parent: tuple[str, str] | None = None,
    updated_since: datetime | None = None,
) -> Page[M]:
    """One page of a kind's list with at most one filter (`filters`: parameter -> value as sent;
    `name` a prefix, `owner_id` the owner, the others `EXACT`), sorted by id or by name.

    400 naming the parameter: a second filter, or a sort the filter's index does not serve.
    `parent`: (filter parameter, parent kind) of a filter by parent record (`account_id`).
    `updated_since`: the kernel's sync page (`sync_page`; no filter, sort or order), the permission
    check asked of each record and tombstone.
    """
    query = plan(filters, sort, order, prefixes={"name": "name"}, updated_since=updated_since)
    if query.since is not None:
        return sync_page(caller, kind, query.since, cursor, limit, model, visible=may_see(caller, kind))
    desc = query.desc
    module = VISIBILITY.get(kind)
    owners = caller.visible_owners(module) if module else None  # type: ignore[arg-type]
    KIND = kind.upper()
    terms = terms_of(kind)

    def visible(batch: list[Any]) -> list[Any]:
        return [r for r in batch if caller.can_read(module, Owner.model_validate(r.data["owner"]))]  # type: ignore[arg-type]

    keep = visible if owners is not None else None
    if query.field is not None:
        return term_page(caller, kind, terms, query, model, cursor, limit, owners=owners)
    param, value = query.param, query.value
    scope = f"{kind}:{query.scope}"
    if param is None:
        if not desc and owners is None:
            return kind_page(caller, kind, cursor, limit, model)
        if owners is None:
            key = tenant_key(caller.tenant, KIND)
            return partition_page(caller, scope, cursor, limit, Record.by_type, key, Record.gsi1sk, model, desc)
        keys = [tenant_key(caller.tenant, "OWNER", o, KIND) for o in sorted(owners)]
        return partition_page(caller, scope, cursor, limit, Record.by_owner, keys, Record.gsi2sk, model, desc)
    assert value is not None
    if param == "owner_id":
        if owners is not None and value not in owners:
            return Page[model](items=[], next_cursor=None)  # type: ignore[valid-type]
        key = tenant_key(caller.tenant, "OWNER", value, KIND)
        return partition_page(caller, scope, cursor, limit, Record.by_owner, key, Record.gsi2sk, model, desc)
    if parent is not None and param == parent[0]:
        readable(caller, parent[1], value, MODULES[parent[1]])  # type: ignore[arg-type]
        key = tenant_key(caller.tenant, parent[1].upper(), value, KIND)
        return partition_page(
            caller, scope, cursor, limit, Record.by_parent, key, Record.gsi3sk, model, desc, keep=keep
        )
    return term_page(caller, kind, terms, query, model, cursor, limit, keep=keep)


def read_many(caller: Caller, kind: str, ids: list[str], model: type[M], others: dict[str, Any]) -> Page[M]:
    """The records of `ids` the caller may see, in the order asked (one BatchGetItem); ids that do
    not exist or that the caller may not see are left out. `others`: the list's other parameters
    as sent (none may be combined with `ids`)."""
    for param, value in others.items():
        if value is not None:
            raise refuse(param, "ids is combined with no other parameter.")
    module = MODULES.get(kind)
    records = caller.store.get_each(caller.tenant, [(kind, i) for i in ids])
    items = []
    for record_id in dict.fromkeys(ids):
        record = records.get((kind, record_id))
        if record is None:
            continue
        if module and not caller.can_read(module, Owner.model_validate(record.data["owner"])):  # type: ignore[arg-type]
            continue
        items.append(model_of(record, model))
    return Page[model](items=items, next_cursor=None)  # type: ignore[valid-type]


# ----------------------------------------------------------------------------- search


class SearchHit(BaseModel):
    """An account or contact the search found: enough to show in a quick-find list; the record
    itself comes from its own GET."""

    kind: Literal["account", "contact"]
    id: str
    number: str | None = None
    name: str
    email: str | None = None
    phone: str | None = Field(None, description="The phone, or the mobile of a contact without one")
    version: int = Field(description="The record's version when the hit was indexed")


def query_words(q: str) -> list[str]:
    """The search's words as the index keeps terms; a phone number's digits as one word."""
    stripped = q.strip()
    if stripped and re.fullmatch(r"[+\d\s().-]+", stripped) and len(phone_key(stripped)) >= MIN_QUERY:
        return [phone_key(stripped)]
    return text_key(q).split()


def search(caller: Caller, q: str, cursor: str | None, limit: int) -> Page[SearchHit]:
    """Accounts and contacts of the caller's tenant that the caller may see, found by name words,
    number, email or phone: the first word matched against the terms from their start, every other
    word the start of some term of the same record. Ranked: names and numbers (`SEARCH#0`) before
    emails and phones (`SEARCH#1`), within each the exact term before longer ones, then in term
    order. Each record once: under its first matching term, in the first phase that finds it."""
    words = query_words(q)
    if not words or len(words[0]) < MIN_QUERY:
        raise ValidationFailed.on("query.q", f"Search for at least {MIN_QUERY} characters.", "too_short")
    first, rest = words[0], words[1:]

    def wanted(phase: int) -> Callable[[list[Any]], list[Any]]:
        def keep(batch: list[Any]) -> list[Any]:
            kept = []
            for entry in batch:
                data = entry.data
                terms, names = data.get("terms") or [], data.get("names") or []
                term = str(entry.gsi4sk).split(SEP, 1)[0]
                if phase and any(n.startswith(first) for n in names):
                    continue  # found among the names already
                if term != min(t for t in (terms if phase else names) if t.startswith(first)):
                    continue  # listed under a term of its that comes first
                if not all(any(t.startswith(w) for t in terms) for w in rest):
                    continue
                if caller.can_read(MODULES[data["kind"]], Owner.model_validate(data["owner"])):  # type: ignore[arg-type]
                    kept.append(entry)
            return kept

        return keep

    scope = f"search:{' '.join(words)}"
    signed_for = f"{caller.tenant}:{scope}"
    state = decode_cursor(cursor, signed_for, caller.signing_key) if cursor else {"phase": 0}
    phase, inner = int(state.get("phase", 0)), state.get("inner")
    inner = str(inner) if inner else None
    items: list[SearchHit] = []
    while phase < 2 and len(items) < limit:
        key = tenant_key(caller.tenant, f"{SEARCH}#{phase}")
        found = partition_page(
            caller,
            f"{scope}:{phase}",
            inner,
            limit - len(items),
            Record.by_term,
            key,
            Record.gsi4sk,
            SearchHit,
            lower=first,
            upper=first + TOP,
            keep=wanted(phase),
        )
        items.extend(found.items)
        if found.next_cursor:
            inner = found.next_cursor
            break
        phase, inner = phase + 1, None
    next_cursor = encode_cursor({"phase": phase, "inner": inner}, signed_for, caller.signing_key) if phase < 2 else None
    return Page[SearchHit](items=items, next_cursor=next_cursor)


# ----------------------------------------------------------------------------- reindex

INDEXED = ("account", "contact", "user", "group", "class", "classification_type", "target_group")


def reindex(tenant_id: str) -> dict[str, int]:
    """Write the index entries of every indexed record of a tenant again, from the record as it is
    (`kontakt tenant reindex`: records written before their entries existed, or after the entries'
    rules changed, such as the duplicate keys after the tenant's `default_country` changed). One
    transaction per record, which commits only if the record's version is the one read (else it is
    read again); running it again changes nothing. The records by kind."""
    store = DirectoryStore()
    counts: dict[str, int] = {}
    caller = service_caller(tenant_id, open_tenant=False)
    for kind in INDEXED:
        country = key_country(caller, kind) if kind in MODULES else None
        ids = [record.record_id for record in store.all_of_kind(tenant_id, kind)]
        for record_id in ids:
            run_with_retries(partial(_reindex_one, store, tenant_id, kind, record_id, country))
        counts[kind] = len(ids)
    return counts


def _reindex_one(store: DirectoryStore, tenant_id: str, kind: str, record_id: str, country: str | None) -> None:
    record = store.get(tenant_id, kind, record_id)
    if record is None:
        return  # deleted meanwhile: its delete took its entries
    uow = UnitOfWork()
    uow.check(Record, record.pk, record.sk, Record.version == record.version, ConcurrentUpdate)
    stage_entries(uow, tenant_id, kind, record_id, record.data, record.version or 1, new=False, country=country)
    uow.commit()
