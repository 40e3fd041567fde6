"""Duplicates (issue 24): the tenant's matching rules, and the check of a new account or contact.

Rules: one kernel setting per entity (`service.duplicate_rules_setting`), read by any user and
replaced by admins, with the settings routes' ETag and If-Match.

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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from services.directory.domain.models import Account, Contact, Owner
from services.directory.lookup import MAX_BLOCK, MODULES, duplicate_keys, duplicate_partition
from services.directory.matching.engine import check
from services.directory.matching.fields import Entity
from services.directory.matching.rules import MatchingRules, parse_rules
from services.directory.service import Caller, duplicate_rules_setting
from services.directory.store import Record
from shared.errors import Conflict, Problem, ValidationFailed, field_errors_from_pydantic
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


# ----------------------------------------------------------------------------- rules


def get_rules(caller: Caller, entity: Entity) -> MatchingRules:
    caller.address_setting(duplicate_rules_setting(entity))
    return caller.duplicate_rules(entity)


def replace_rules(caller: Caller, entity: Entity, body: Mapping[str, Any]) -> MatchingRules:
    """Replace the rules (admins). A change of `default_country` keys the phone numbers of records
    written from now on; the keys of existing records follow when `kontakt tenant reindex` runs."""
    caller.require_admin()
    caller.address_setting(duplicate_rules_setting(entity))
    if body.get("entity") not in (None, entity):
        raise ValidationFailed.on("entity", f"These are the rules of {entity}.", "not_path_entity")
    try:
        rules = parse_rules(entity, {**body, "entity": entity})
    except ValidationError as error:
        raise ValidationFailed(
            "The matching rules are not valid.", field_errors_from_pydantic(error.errors())
        ) from None
    caller.save_setting(duplicate_rules_setting(entity), rules.model_dump(mode="json"))
    return rules


# ----------------------------------------------------------------------------- check on create


def _candidate_ids(caller: Caller, kind: str, keys: tuple[str, ...]) -> dict[str, list[str]]:
    """key -> the ids of the records that have it (a key of more than MAX_BLOCK records: none)."""
    blocks: dict[str, list[str]] = {}
    for key in keys:
        partition = tenant_key(caller.tenant, duplicate_partition(kind, key))
        ids = [entry.record_id for entry in Record.by_term.query(partition, limit=MAX_BLOCK + 1)]
        if len(ids) <= MAX_BLOCK:
            blocks[key] = ids
    return blocks


def _visible(caller: Caller, kind: str, record: Record) -> bool:
    if record.data.get("erased"):
        return False
    owner = Owner.model_validate(record.data["owner"])
    return caller.can_read(MODULES[kind], owner, public=bool(record.data.get("public")))  # type: ignore[arg-type]


def find_duplicates(caller: Caller, kind: str, record: BaseModel | Mapping[str, Any]) -> list[PossibleDuplicate]:
    """The records of `kind` (account, contact) the caller may read that `record` (a create body,
    or a record with its id) may duplicate, best first."""
    entity: Entity = MODULES[kind]  # type: ignore[assignment]
    rules = caller.duplicate_rules(entity)
    data = record.model_dump(mode="json") if isinstance(record, BaseModel) else dict(record)
    blocks = _candidate_ids(caller, kind, duplicate_keys(kind, data, rules.default_country))
    wanted = sorted({i for ids in blocks.values() for i in ids} - {str(data.get("id") or "")})
    if not wanted:
        return []
    records = caller.store.get_each(caller.tenant, [(kind, i) for i in wanted])
    seen: dict[str, dict[str, Any]] = {}
    for record_id in wanted:
        found = records.get((kind, record_id))
        if found is not None and _visible(caller, kind, found):
            seen[record_id] = found.data
    members = {key: [seen[i] for i in ids if i in seen] for key, ids in blocks.items()}
    pairs = check(data, members, rules)
    return [PossibleDuplicate(id=p.right, score=round(p.score, 3), matched=list(p.matched)) for p in pairs]


def checked(caller: Caller, kind: str, body: BaseModel, mode: DuplicatesMode) -> list[PossibleDuplicate]:
    """The possible duplicates of a record about to be created; with `reject`, a 409 when any."""
    found = find_duplicates(caller, kind, body)
    if found and mode == "reject":
        raise DuplicatesFound(kind, found)
    return found
