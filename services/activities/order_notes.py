"""Contact orders [003]: the notes log, every note stamped with its time and author.

Notes are items in the order's partition, sk `NOTE#<ulid>`: append-only, read consistently,
oldest first. The order counts them (`notes_count`, `last_note_at`); a conversion sends the
newest of them to invoicing; deleting the order deletes them.
"""

from __future__ import annotations

from collections.abc import Iterator

from services.activities.domain.contact_orders import ContactOrder
from services.activities.domain.order_notes import Note, NoteCreate, NoteSummary
from services.activities.order_records import KIND, change_order, load_order, touched
from services.activities.service import Caller
from services.activities.store import Record, clean, record_key
from shared import clock
from shared.errors import NotFound
from shared.ids import new_id
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.store import UnitOfWork

NOTE_PREFIX = "NOTE#"
NOTES_IN_EVENT = 64 * 1024


def _note_item(tenant: str, note: Note) -> Record:
    return Record(
        pk=record_key(tenant, KIND, note.order_id),
        sk=f"{NOTE_PREFIX}{note.id}",
        kind="co_note",
        fields=clean(note.model_dump(mode="json")),
    )


def add_note(caller: Caller, order_id: str, body: NoteCreate) -> Note:
    """Append a note stamped with its time and author; notes are never changed or removed."""

    def change(before: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, Note]:
        now = clock.now()
        note = Note(id=new_id(), order_id=order_id, text=body.text, author_id=caller.user_id, created_at=now)
        uow.save(_note_item(caller.tenant, note), condition=Record.pk.does_not_exist())
        return touched(before, notes_count=before.notes_count + 1, last_note_at=now), note

    return change_order(caller, order_id, change)


def _note_records(caller: Caller, order_id: str, after: str | None, limit: int | None) -> Iterator[Record]:
    lower = f"{NOTE_PREFIX}{after} " if after else NOTE_PREFIX
    return Record.query(
        record_key(caller.tenant, KIND, order_id),
        Record.sk.between(lower, f"{NOTE_PREFIX}~"),
        consistent_read=True,
        limit=limit,
    )


def get_note(caller: Caller, order_id: str, note_id: str) -> Note:
    """One note of an order the caller may see, whole."""
    load_order(caller, order_id)
    try:
        record = Record.get(record_key(caller.tenant, KIND, order_id), f"{NOTE_PREFIX}{note_id}", consistent_read=True)
    except Record.DoesNotExist:
        raise NotFound(f"No note {note_id} on contact order {order_id}.") from None
    return Note.model_validate(record.data)


def list_notes(caller: Caller, order_id: str, cursor: str | None, limit: int) -> Page[NoteSummary]:
    """The notes log, oldest first, each note as its excerpt (`get_note` reads one whole)."""
    load_order(caller, order_id)
    scope = f"{caller.tenant}:contact_order_notes:{order_id}"
    after = decode_cursor(cursor, scope, caller.signing_key)["after"] if cursor else None
    records = list(_note_records(caller, order_id, after, limit + 1))
    notes = [NoteSummary.of(Note.model_validate(r.data)) for r in records[:limit]]
    next_cursor = encode_cursor({"after": notes[-1].id}, scope, caller.signing_key) if len(records) > limit else None
    return Page[NoteSummary](items=notes, next_cursor=next_cursor)


def notes_for_event(caller: Caller, order_id: str) -> tuple[list[str], bool]:
    """The newest notes that fit in NOTES_IN_EVENT, oldest first."""
    texts = [str(r.data.get("text", "")) for r in _note_records(caller, order_id, None, None)]
    kept: list[str] = []
    size = 0
    for text in reversed(texts):
        size += len(text.encode())
        if size > NOTES_IN_EVENT:
            break
        kept.append(text)
    return list(reversed(kept)), len(kept) < len(texts)


def delete_notes(caller: Caller, order_id: str) -> None:
    """Notes of a deleted order (unreachable once the order is gone)."""
    with Record.batch_write() as batch:
        for record in _note_records(caller, order_id, None, None):
            batch.delete(record)
