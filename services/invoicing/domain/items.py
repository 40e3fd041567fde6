"""Invoicing items: what a client sends and gets back."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from shared.types import INPUT, OUTPUT, Name200, OptId

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ItemCreate(BaseModel):
    model_config = INPUT

    name: Name200
    description: Description = ""
    contact_id: OptId = None


class Item(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    description: str = ""
    contact_id: str | None = None
    created_by: str
    created_at: datetime
    version: int = 1
