"""Contact orders [003]: the notes log, every note stamped with its time and author (append-only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.activities.domain.models import MemoCreate
from shared.types import OUTPUT


class NoteCreate(MemoCreate):  # a note is written as an activity's memo is: one text
    pass


class Note(BaseModel):
    model_config = OUTPUT

    id: str
    order_id: str
    text: str
    author_id: str
    created_at: datetime


EXCERPT = 200


class NoteSummary(BaseModel):
    """A note in the notes log: its first `EXCERPT` characters (`GET .../notes/{note_id}` has all)."""

    model_config = OUTPUT

    id: str
    order_id: str
    excerpt: str = Field(description=f"The note's first {EXCERPT} characters")
    length: int = Field(description="The note's length in characters (longer than the excerpt: read the note)")
    author_id: str
    created_at: datetime

    @classmethod
    def of(cls, note: Note) -> NoteSummary:
        return cls(
            id=note.id,
            order_id=note.order_id,
            excerpt=note.text[:EXCERPT],
            length=len(note.text),
            author_id=note.author_id,
            created_at=note.created_at,
        )
