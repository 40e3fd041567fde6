"""Events the directory publishes, registered once in the catalogue."""

from typing import Any

from pydantic import BaseModel, Field

import shared.contracts.audience  # noqa: F401  (registers audience.requested / audience.page)
from shared.conditions import Condition, Match
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
    """A target group as it now is: enough to evaluate its dynamic part elsewhere.

    `conditions` and `match` are as the API shows them; evaluate them with
    `shared.conditions.matches`. Hand-added members are not part of the event.
    """

    id: str
    name: str
    conditions: list[Condition] = Field(default_factory=list)
    match: Match = "all"


class ClassChanged(BaseModel):
    id: str
    name: str
    classification_type_id: str | None = None


class GroupChanged(BaseModel):
    """A user group and its members (user ids) after the change."""

    id: str
    name: str
    member_ids: list[str] = Field(default_factory=list)


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
    ("class.created", ClassChanged, "A class (of a classification type) was created."),
    ("group.created", GroupChanged, "A user group was created (it has no members yet)."),
    ("group.updated", GroupChanged, "A user group's members changed; member_ids is the whole list after it."),
    ("import.completed", ImportCompleted, "A CSV import finished."),
]

for _type, _payload, _description in _SPECS:
    catalogue.register(_type, _payload, producer=PRODUCER, description=_description)
