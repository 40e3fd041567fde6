"""Contact orders [003]: the notes log, every note stamped with its time and author (append-only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

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
