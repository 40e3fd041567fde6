"""Duplicates (issue 24): the check of a new account or contact (the tenant's matching rules are
read and replaced in duplicate_rules.py).

Check on create: the new record's blocking keys (`lookup.duplicate_keys`) are looked up in the
directory's key index (`<KIND>#dup#<key>` entries, written with every record in its transaction),
the records found are read in one BatchGetItem, the ones the caller may not read are dropped
(before any comparison: a caller never learns of a record they cannot see, not even through a
score), and the rest are scored by the tenant's rules (`matching.engine.check`). AWS calls: one
Query per key of the new record (a contact has at most 7: email, two numbers, four name keys;
an account at most 6: business id, email, phone, website, two name keys) and, when any key names
records, one BatchGetItem per 100 candidates (one in practice): tests/perf/test_t_duplicates_check.py. A key shared by
more than `MAX_BLOCK` records (a common name, a switchboard number) names no candidates here: it
is weak evidence, its records are found by their other keys, and a scan walks it whole.

A batch (handlers/routes/duplicate_batch.py) checks its items with one `Checker`: a key queried
once, a candidate read once, the batch's own creates candidates of its later items at once. Two
creates of one person in different requests at nearly the same time can miss each other (the
index is read before the write commits, and it is a GSI: no consistent reads); docs/decisions.md
("the race of two creates") says why that is not fixed here. A scan finds such pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.directory.domain.models import Account, Contact, Owner
from services.directory.lookup import MAX_BLOCK, MODULES, duplicate_keys, duplicate_partition
from services.directory.matching.engine import check
from services.directory.service import Caller
from services.directory.store import Record
from shared.errors import Conflict, Problem
from shared.store import tenant_key

DuplicatesMode = Literal["report", "reject"]


class PossibleDuplicate(BaseModel):
    """An existing record the new one may duplicate, by the tenant's matching rules."""

    id: str
    score: float = Field(ge=0, le=1, description="The weighted similarity by the tenant's rules (0-1)")
    matched: list[str] = Field(description="The rules' fields that matched, in the rules' order")


class DuplicatesFound(Conflict):
    """`duplicates=reject` and the new record matches records the caller may read."""

    code, title = "possible_duplicates", "Possible duplicates"

    def __init__(self, kind: str, found: list[PossibleDuplicate]) -> None:
        super().__init__(f"The {kind} matches {len(found)} existing record(s); nothing was created.")
        self.found = found

    def extensions(self) -> dict[str, Any]:
        return {"possible_duplicates": [d.model_dump(mode="json") for d in self.found]}


class DuplicateProblem(Problem):
    """The 409 of a create with `duplicates=reject`: the problem body with the extension member
    `possible_duplicates` (RFC 9457)."""

    possible_duplicates: list[PossibleDuplicate]


POSSIBLE_DUPLICATES = (
    "Existing records the caller may read that this one may duplicate by the tenant's matching rules "
    "(`GET /duplicates/rules/contacts`, `/accounts`), best first; empty when none"
)


class ContactCreated(Contact):
    """A created contact, with the possible duplicates found when it was created."""

    possible_duplicates: list[PossibleDuplicate] = Field(default_factory=list, description=POSSIBLE_DUPLICATES)


class AccountCreated(Account):
    """A created account, with the possible duplicates found when it was created."""

    possible_duplicates: list[PossibleDuplicate] = Field(default_factory=list, description=POSSIBLE_DUPLICATES)


# ----------------------------------------------------------------------------- check on create


def _visible(caller: Caller, kind: str, data: Mapping[str, Any]) -> bool:
    if data.get("erased"):
        return False
    owner = Owner.model_validate(data["owner"])
    return caller.can_read(MODULES[kind], owner, public=bool(data.get("public")))  # type: ignore[arg-type]


class Checker:
    """Checks new records of one kind against the index, remembering what it read: a batch's
    items query each key once (a key the batch's items share costs one Query) and read each
    candidate once, and each record the batch creates is a candidate of the items after it at once
    (the index, eventually consistent, may not list it yet)."""

    def __init__(self, caller: Caller, kind: str) -> None:
        self.caller, self.kind = caller, kind
        self.rules = caller.duplicate_rules(MODULES[kind])
        self.blocks: dict[str, list[str] | None] = {}  # key -> ids (None: more than MAX_BLOCK)
        self.records: dict[str, dict[str, Any] | None] = {}  # id -> data (None: absent or hidden)

    def keys(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        return duplicate_keys(self.kind, data, self.rules.default_country)

    def _query(self, keys: tuple[str, ...]) -> None:
        """One Query per key not read before (a key of more than MAX_BLOCK records names none)."""
        for key in keys:
            if key in self.blocks:
                continue
            partition = tenant_key(self.caller.tenant, duplicate_partition(self.kind, key))
            ids = [entry.record_id for entry in Record.by_term.query(partition, limit=MAX_BLOCK + 1)]
            self.blocks[key] = ids if len(ids) <= MAX_BLOCK else None

    def _read(self, ids: set[str]) -> None:
        """The candidates not read before, in one BatchGetItem; the ones the caller may not read
        are dropped before any comparison (a caller never learns of them, not even by a score)."""
        wanted = sorted(ids - set(self.records))
        if not wanted:
            return
        found = self.caller.store.get_each(self.caller.tenant, [(self.kind, i) for i in wanted])
        for record_id in wanted:
            record = found.get((self.kind, record_id))
            visible = record is not None and _visible(self.caller, self.kind, record.data)
            self.records[record_id] = record.data if record is not None and visible else None

    def find(self, record: BaseModel | Mapping[str, Any]) -> list[PossibleDuplicate]:
        """The records the caller may read that `record` (a create body, or a record with its id)
        may duplicate, best first."""
        data = record.model_dump(mode="json") if isinstance(record, BaseModel) else dict(record)
        keys, own = self.keys(data), str(data.get("id") or "")
        self._query(keys)
        blocks = {key: [i for i in ids if i != own] for key in keys if (ids := self.blocks[key]) is not None}
        self._read({i for ids in blocks.values() for i in ids})
        members = {key: [d for i in ids if (d := self.records.get(i)) is not None] for key, ids in blocks.items()}
        pairs = check(data, members, self.rules)
        return [PossibleDuplicate(id=p.right, score=round(p.score, 3), matched=list(p.matched)) for p in pairs]

    def added(self, record: BaseModel) -> None:
        """A record created since: listed under its keys for the next `find`s."""
        data = record.model_dump(mode="json")
        record_id = str(data["id"])
        self.records[record_id] = data if _visible(self.caller, self.kind, data) else None
        for key in self.keys(data):
            ids = self.blocks.get(key)
            if ids is not None and record_id not in ids:
                ids.append(record_id)
                if len(ids) > MAX_BLOCK:
                    self.blocks[key] = None


def find_duplicates(caller: Caller, kind: str, record: BaseModel | Mapping[str, Any]) -> list[PossibleDuplicate]:
    """The records of `kind` (account, contact) the caller may read that `record` (a create body,
    or a record with its id) may duplicate, best first."""
    return Checker(caller, kind).find(record)


def checked(caller: Caller, kind: str, body: BaseModel, mode: DuplicatesMode) -> list[PossibleDuplicate]:
    """The possible duplicates of a record about to be created; with `reject`, a 409 when any."""
    found = find_duplicates(caller, kind, body)
    if found and mode == "reject":
        raise DuplicatesFound(kind, found)
    return found


def checked_by(checker: Checker, body: BaseModel, mode: DuplicatesMode) -> list[PossibleDuplicate]:
    """`checked` with a batch's checker."""
    found = checker.find(body)
    if found and mode == "reject":
        raise DuplicatesFound(checker.kind, found)
    return found
