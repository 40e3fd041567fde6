"""Merged records (`contact.merged`, `account.merged`) as a service that references them applies them.

The directory merges records into a survivor and publishes one event; every service that holds a
reference to a merged id moves it to the survivor in its own subscription. The steps, each safe
to repeat, so that a crash between any two and a second delivery leave each reference moved once:

1. `mark_merged`: a marker per merged id (`merged_<entity>` record: the survivor, the merge),
   written before anything moves. From then on `resolve` turns the merged id into the survivor's,
   for a late event or a request naming an old id, and a write that would create a new reference
   to it can be pointed at the survivor.
2. Each reference moves in a transaction of its own (any number fit), read in full first and
   skipped when it no longer names a merged id: a redelivery finishes the job and changes nothing
   already done.
3. The event's dedupe marker commits last, in the event's unit of work.

Merges chain (A into B, later B into C) and their events may arrive in any order: `resolve`
follows the markers to the last survivor, so a consumer moves references to `resolve(survivor)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from shared import clock
from shared.errors import Merged
from shared.events import Envelope
from shared.store import AlreadyApplied, DataStore, UnitOfWork, run_with_retries

if TYPE_CHECKING:  # the event's contract is loaded by the consumers only (`merge_of`): an API's reads need none
    from shared.contracts.directory import RecordMerged

ENTITIES = {"contact.merged": "contact", "account.merged": "account"}
MAX_CHAIN = 16  # a chain of merges longer than this is a cycle in corrupt data, not a real history


def marker_kind(entity: str) -> str:
    """The kind of a service's marker records for a merged contact or account."""
    return f"merged_{entity}"


def merge_of(envelope: Envelope) -> tuple[str, RecordMerged]:
    """The entity (`contact`, `account`) and the payload of a merge event."""
    from shared.contracts.directory import RecordMerged

    return ENTITIES[envelope.type], RecordMerged.model_validate(envelope.data)


def mark_merged(store: DataStore[Any], tenant: str, entity: str, merge: RecordMerged) -> None:
    """Remember where each merged id went (no personal data), before any reference moves."""
    kind = marker_kind(entity)
    known = store.get_many(tenant, kind, merge.merged_ids)
    for merged_id in merge.merged_ids:
        if merged_id in known or merged_id == merge.id:
            continue
        uow = UnitOfWork()
        data = {"survivor_id": merge.id, "merge_id": merge.merge_id, "merged_at": clock.iso(clock.now())}
        store.add(uow, store.new(tenant, kind, merged_id, data), on_conflict=AlreadyApplied)
        with suppress(AlreadyApplied):  # marked by another subscription of the same service in between
            uow.commit()


def survivor_of(store: DataStore[Any], tenant: str, entity: str, record_id: str) -> str | None:
    """The record a merged id now lives on (the end of its chain), or None when it was not merged."""
    kind = marker_kind(entity)
    current, seen = record_id, {record_id}
    for _ in range(MAX_CHAIN):
        marker = store.get(tenant, kind, current)
        if marker is None:
            break
        current = str(marker.data["survivor_id"])
        if current in seen:
            break
        seen.add(current)
    return None if current == record_id else current


def resolve(store: DataStore[Any], tenant: str, entity: str, record_id: str) -> str:
    """The id to reference for `record_id`: its survivor when it was merged, else itself."""
    return survivor_of(store, tenant, entity, record_id) or record_id


def move_each(ids: Iterable[str], move: Callable[[str], bool]) -> int:
    """Move the references one record at a time, each in its own transaction (`move` reads the
    record, returns False when it no longer names a merged id, else stages and commits the change);
    a write that races another is retried. Returns how many moved."""
    moved = 0
    for record_id in list(ids):
        moved += bool(run_with_retries(_bound(move, record_id)))
    return moved


def _bound(move: Callable[[str], bool], record_id: str) -> Callable[[], bool]:
    return lambda: move(record_id)


def redirect_if_merged(
    store: DataStore[Any], tenant: str, *, contact: str | None = None, account: str | None = None
) -> None:
    """Raise `Merged` when a read names a merged contact or account id (a path id or a list
    filter): a GET answers 301 to the same request on the survivor (`shared.api.moved_response`),
    so an old link finds the records that moved. One GetItem of the marker per id named (more only
    along a chain), none without one; on every page, not only the first: a client that follows
    the 301 by itself (a browser, `requests`) asks for its next page with the old id and the
    survivor's cursor, which the redirect keeps (a cursor's scope names its filter's id, so a
    cursor read before the merge is a 400 on the survivor: start again)."""
    for entity, record_id in (("contact", contact), ("account", account)):
        survivor = survivor_of(store, tenant, entity, record_id) if record_id else None
        if survivor is not None:
            raise Merged(entity, str(record_id), survivor)


def repoint(
    store: DataStore[Any], tenant: str, kind: str, record_id: str, field: str, merged_ids: set[str], survivor: str
) -> bool:
    """A record whose `field` names a merged id names the survivor instead, in a transaction of its
    own (re-read, so a repeat changes nothing; retried when another writer saved it in between);
    False when it does not name one (any more)."""

    def run() -> bool:
        record = store.get(tenant, kind, record_id)
        if record is None or record.data.get(field) not in merged_ids:
            return False
        uow = UnitOfWork()
        store.replace(uow, record, {**record.data, field: survivor})
        uow.commit()
        return True

    return bool(run_with_retries(run))
