"""Merging duplicate contacts or accounts into a survivor (`POST /duplicates/merge`).

A merge is a distributed operation: the records live here, their references in every service.
It goes in steps, each safe to repeat, so that a crash between any two (or an event delivered
twice) finishes with every reference on the survivor exactly once:

1. One transaction (the request): the survivor takes the chosen values (an ordinary update:
   `contact.updated` / `account.updated` with the changes), each merged record is marked
   `merged_into` under its version (a concurrent change is a 409), a marker per merged id
   (`shared/merges.py`) is written, and `contact.merged` / `account.merged` goes to the outbox.
   From here on a merged id answers 301/410 with the survivor (`service.readable`), and every
   service moves its references when the event reaches it.
2. Each merged record and its index entries (search terms, duplicate keys, list filters) are
   removed, one transaction each (the request does it at once; the directory's own subscription
   to the event repeats it, so a crash after step 1 loses nothing). The marker stays: the id keeps
   answering with the survivor's.
3. The directory's own references: a merged contact's hand-added target-group memberships, and
   the contacts of a merged account, move to the survivor (the subscription, one transaction each).

The records of a merge (up to 1 + MAX_MERGED) are few enough for step 1's one transaction.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator
from pydantic_core import PydanticCustomError

from services.directory import events as ev
from services.directory.accounts import change_account, change_contact
from services.directory.domain.models import Account, AccountUpdate, Contact, ContactUpdate
from services.directory.lookup import stage_entries
from services.directory.matching.rules import MergeValues
from services.directory.service import Caller, check_picklists, service_caller, writable
from services.directory.store import Record
from shared import clock
from shared.errors import Merged, NotFound, ValidationFailed, register_union_tags
from shared.events import Change, Envelope
from shared.ids import new_id
from shared.merges import marker_kind, merge_of, move_each, resolve, survivor_of
from shared.observability import logger
from shared.store import UnitOfWork, run_with_retries
from shared.types import INPUT, Id, duplicate

MAX_MERGED = 3  # records merged into one survivor per request (Salesforce merges three at a time)
ENTITY = {"contacts": "contact", "accounts": "account"}
UPDATES: dict[str, type[BaseModel]] = {"contact": ContactUpdate, "account": AccountUpdate}
MODELS: dict[str, type[BaseModel]] = {"contact": Contact, "account": Account}


def _field_choices(name: str, update: type[BaseModel]) -> type[BaseModel]:
    """`{field: record id}` for the fields a merge may take from another record."""
    choice = (Id | None, Field(None, description="The id of the record (the survivor or a merged one) to take it from"))
    fields: dict[str, Any] = {field: choice for field in update.model_fields}
    return create_model(name, __config__=INPUT, **fields)


ContactFieldChoices = _field_choices("ContactMergeFields", ContactUpdate)
AccountFieldChoices = _field_choices("AccountMergeFields", AccountUpdate)

MergedIds = Annotated[
    list[Id],
    Field(
        min_length=1,
        max_length=MAX_MERGED,
        json_schema_extra={"uniqueItems": True},
        description="The records merged into the survivor, each once, not the survivor itself; they are removed",
    ),
]


class _MergeRequest(BaseModel):
    model_config = INPUT

    survivor_id: Id = Field(description="The record that stays, with its id")
    merged_ids: MergedIds

    @field_validator("merged_ids")
    @classmethod
    def _each_once_not_the_survivor(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise duplicate("merged_ids lists a record twice")
        if info.data.get("survivor_id") in value:
            raise PydanticCustomError("survivor_merged", "merged_ids may not hold the survivor")
        return value


FIELDS_RULE = (
    "Which record each field's value comes from; a field left out follows the tenant's `merge_values` "
    "(its matching rules): by default the survivor's value, or when it has none the newest record's that has one"
)


class ContactMerge(_MergeRequest):
    entity: Literal["contacts"]
    fields: ContactFieldChoices = Field(  # type: ignore[valid-type]
        default_factory=ContactFieldChoices,
        description=FIELDS_RULE,
    )


class AccountMerge(_MergeRequest):
    entity: Literal["accounts"]
    fields: AccountFieldChoices = Field(  # type: ignore[valid-type]
        default_factory=AccountFieldChoices,
        description=FIELDS_RULE,
    )


MergeRequest = Annotated[ContactMerge | AccountMerge, Field(discriminator="entity")]
register_union_tags(ENTITY, body=True)  # an error names `merged_ids`, not `contacts.merged_ids`


class MergeResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    merge_id: str
    entity: Literal["contacts", "accounts"]
    survivor: dict[str, Any] = Field(description="The survivor after the merge, as its GET shows it")
    merged_ids: list[str]
    fields: dict[str, str] = Field(description="Each field the survivor took from a merged record: that record's id")


# ----------------------------------------------------------------------------- choosing values


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def choose(
    fields: list[str], records: list[dict[str, Any]], chosen: dict[str, str], policy: MergeValues = "survivor"
) -> tuple[dict[str, Any], dict[str, str]]:
    """The survivor's changes and where each came from. `records[0]` is the survivor; a field not in
    `chosen` takes the value the tenant's `merge_values` policy names (`MatchingRules`)."""
    survivor = records[0]
    by_id = {r["id"]: r for r in records}
    newest_first = sorted(records, key=lambda r: str(r.get("updated_at") or ""), reverse=True)
    candidates = {"survivor": [r for r in newest_first if r is not survivor], "newest": newest_first}
    candidates["oldest"] = newest_first[::-1]
    changes: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in fields:
        source = by_id[chosen[name]] if name in chosen else None
        if source is None and not (policy == "survivor" and not _empty(survivor.get(name))):
            source = next((r for r in candidates[policy] if not _empty(r.get(name))), None)
        if source is None or source["id"] == survivor["id"] or source.get(name) == survivor.get(name):
            continue
        changes[name] = source.get(name)
        sources[name] = source["id"]
    return changes, sources


# ----------------------------------------------------------------------------- the command


def _record(caller: Caller, kind: str, record_id: str, field: str) -> Record:
    """A record named in the body the caller may change: a 422 naming the field when it is unknown
    to them, merged already or erased (GDPR), a 403 when they may see but not change it."""
    try:
        record = writable(caller, kind, record_id, f"{kind}s")  # type: ignore[arg-type]
    except Merged as merged:
        raise ValidationFailed.on(field, f"{merged.detail}", "merged") from None
    except NotFound:
        raise ValidationFailed.on(field, f"No {kind} {record_id}.", "not_found") from None
    if record.data.get("erased"):  # its references are being erased: nothing to carry over
        raise ValidationFailed.on(field, f"The {kind} {record_id} was erased.", "erased")
    return record


def merge(caller: Caller, request: ContactMerge | AccountMerge) -> MergeResult:
    kind = ENTITY[request.entity]
    chosen = {k: v for k, v in request.fields.model_dump().items() if v is not None}  # type: ignore[attr-defined]
    known = {request.survivor_id, *request.merged_ids}
    for name, record_id in chosen.items():
        if record_id not in known:
            raise ValidationFailed.on(f"fields.{name}", f"{record_id} is not one of the merged records.", "not_merged")
    merge_id = new_id()

    def command() -> tuple[BaseModel, dict[str, str]]:
        survivor = _record(caller, kind, request.survivor_id, "survivor_id")
        merged = [_record(caller, kind, i, f"merged_ids.{n}") for n, i in enumerate(request.merged_ids)]
        records = [survivor.data | {"id": survivor.record_id}] + [m.data | {"id": m.record_id} for m in merged]
        policy = caller.duplicate_rules(request.entity).merge_values
        changes, sources = choose(list(UPDATES[kind].model_fields), records, chosen, policy)
        body = _update(kind, changes)
        check_picklists(caller, body.model_dump(exclude_unset=True))
        uow = UnitOfWork()
        after = _apply(caller, uow, survivor, body)
        for record in merged:
            caller.store.replace(uow, record, record.data | {"merged_into": survivor.record_id})
            marker = {"survivor_id": survivor.record_id, "merge_id": merge_id, "merged_at": clock.iso(clock.now())}
            caller.store.add(uow, caller.store.new(caller.tenant, marker_kind(kind), record.record_id, marker))
        payload = ev.RecordMerged(
            id=survivor.record_id,
            merged_ids=request.merged_ids,
            merge_id=merge_id,
            record=after.model_dump(mode="json"),
        )
        merged_change = Change(field="merged_ids", old=None, new=request.merged_ids)
        uow.publish(caller.event(f"{kind}.merged", payload, changes=[merged_change]))
        uow.commit()
        return after, sources

    after, sources = run_with_retries(command)
    for merged_id in request.merged_ids:
        remove_merged(caller, kind, merged_id)
    survivor_json = after.model_dump(mode="json")
    return MergeResult(
        merge_id=merge_id, entity=request.entity, survivor=survivor_json, merged_ids=request.merged_ids, fields=sources
    )


def _apply(caller: Caller, uow: UnitOfWork, survivor: Record, body: BaseModel) -> BaseModel:
    if isinstance(body, ContactUpdate):
        return change_contact(caller, uow, survivor, body)
    assert isinstance(body, AccountUpdate)
    return change_account(caller, uow, survivor, body)


def _update(kind: str, changes: dict[str, Any]) -> BaseModel:
    """The survivor's changes as the update model (its rules hold: a contact keeps a name)."""
    try:
        return UPDATES[kind].model_validate(changes)
    except ValueError as error:
        raise ValidationFailed.on(
            "fields", f"The chosen values do not make a valid {kind}: {error}", "invalid"
        ) from None


# ----------------------------------------------------------------------------- steps 2 and 3


def remove_merged(caller: Caller, kind: str, merged_id: str) -> bool:
    """Remove a record marked merged, with its index entries; False when it is gone already."""

    def run() -> bool:
        record = caller.store.get(caller.tenant, kind, merged_id)
        if record is None or not record.data.get("merged_into"):
            return False
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        stage_entries(uow, caller.tenant, kind, merged_id, None, 0, new=False)
        uow.commit()
        return True

    return bool(run_with_retries(run))


def _move_membership(caller: Caller, membership: Record, survivor_id: str) -> bool:
    """A merged contact's hand-added membership becomes the survivor's (one, if it had its own)."""
    from services.directory.target_groups import member_record

    group_id = str(membership.data["target_group_id"])
    uow = UnitOfWork()
    uow.delete(membership, check_version=False)
    if caller.store.get(caller.tenant, "tg_member", f"{group_id}.{survivor_id}") is None:
        uow.save(member_record(caller, group_id, survivor_id))
    uow.commit()
    return True


def move_memberships(caller: Caller, merged_id: str, survivor_id: str) -> int:
    from services.directory.target_groups import recount

    memberships = list(caller.store.contact_memberships(caller.tenant, merged_id))
    for membership in memberships:
        run_with_retries(partial(_move_membership, caller, membership, survivor_id))
    for group_id in {str(m.data["target_group_id"]) for m in memberships}:
        with suppress(NotFound):  # the group was deleted meanwhile
            recount(caller, group_id)
    return len(memberships)


def move_account_contacts(caller: Caller, merged_id: str, survivor_id: str) -> int:
    """The contacts of a merged account move to the survivor (an ordinary `contact.updated` each)."""
    ids = [r.record_id for r in caller.store.children(caller.tenant, "account", merged_id, "contact")]

    def move(contact_id: str) -> bool:
        record = caller.store.get(caller.tenant, "contact", contact_id)
        if record is None or record.data.get("account_id") != merged_id:
            return False
        uow = UnitOfWork()
        change_contact(caller, uow, record, ContactUpdate(account_id=survivor_id))
        uow.commit()
        return True

    return move_each(ids, move)


def on_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    """Finish a merge the directory made: steps 2 and 3, each safe to repeat."""
    kind, merge = merge_of(envelope)
    caller = service_caller(envelope.tenant_id)
    survivor_id = resolve(caller.store, caller.tenant, kind, merge.id)
    moved = 0
    for merged_id in merge.merged_ids:
        if survivor_of(caller.store, caller.tenant, kind, merged_id) is None:
            continue  # not a merge this directory made (its step 1 writes the marker)
        remove_merged(caller, kind, merged_id)
        if kind == "contact":
            moved += move_memberships(caller, merged_id, survivor_id)
        else:
            moved += move_account_contacts(caller, merged_id, survivor_id)
    logger.info("merge finished", extra={"merge_id": merge.merge_id, "kind": kind, "references_moved": moved})
