"""Events the directory publishes, registered once in the catalogue."""

from typing import Any

from pydantic import BaseModel, Field

import shared.contracts.audience  # noqa: F401  (registers audience.requested / audience.page)
from shared.events import catalogue

PRODUCER = "directory"


class RecordChanged(BaseModel):
    """A created or updated account/contact: the record as it now is, and what changed."""

    id: str
    record: dict[str, Any]
    changed: list[str] = Field(default_factory=list)


class RecordDeleted(BaseModel):
    id: str


class ContactErased(BaseModel):
    """Every service erases what it holds about this contact."""

    id: str


class TargetGroupChanged(BaseModel):
    id: str
    name: str


class ImportCompleted(BaseModel):
    id: str
    kind: str
    created: int
    updated: int
    rejected: int


_SPECS: list[tuple[str, type[BaseModel], str]] = [
    ("account.created", RecordChanged, "An account was created."),
    ("account.updated", RecordChanged, "An account was changed (status, manager, fields)."),
    ("account.deleted", RecordDeleted, "An account was deleted."),
    ("contact.created", RecordChanged, "A contact was created."),
    ("contact.updated", RecordChanged, "A contact was changed."),
    ("contact.deleted", RecordDeleted, "A contact was deleted."),
    ("contact.erased", ContactErased, "A contact's personal data was erased (GDPR); erase yours."),
    ("target_group.created", TargetGroupChanged, "A target group was created."),
    ("target_group.updated", TargetGroupChanged, "A target group's conditions or members changed."),
    ("target_group.deleted", RecordDeleted, "A target group was deleted."),
    ("import.completed", ImportCompleted, "A CSV import finished."),
]

for _type, _payload, _description in _SPECS:
    catalogue.register(_type, _payload, producer=PRODUCER, description=_description)
