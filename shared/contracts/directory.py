"""What the directory announces about its records, for the services that keep a copy of them.

Its target groups' events are in `target_groups.py`: their conditions are the kernel's condition
models, which a service that reads only contacts and accounts does not load.

The directory produces these events (`services/directory/events.py` registers nothing else of
them); activities (the call list, erasure, contact orders, marketing) and email (recipients)
consume them. Producer and consumers validate with these very models: there is no consumer's
copy. A consumer reads what it needs of the model; fields a later version of the directory adds
are ignored by a consumer that does not know them yet (pydantic's default `extra="ignore"`, the
tolerant reader), while the producer is held to exactly the model by the contract test
(tests/unit/test_event_contracts.py and the e2e run's check of every event on the bus).
"""

from typing import Any

from pydantic import BaseModel, Field

from shared.events import catalogue

PRODUCER = "directory"


class RecordChanged(BaseModel):
    """A created or updated account/contact: the record as the directory API shows it, and what changed.

    `record` carries the record's `version`; a consumer keeps the highest version it has seen, so
    a late or redelivered event changes nothing.
    """

    id: str
    record: dict[str, Any]
    changed: list[str] = Field(default_factory=list)


class RecordDeleted(BaseModel):
    """A deleted account, contact or target group: only its id."""

    id: str


class ContactErased(BaseModel):
    """Every service erases what it holds about this contact (GDPR)."""

    id: str


class RecordMerged(BaseModel):
    """Records merged into a survivor (`POST /duplicates/merge`): each service that holds a
    reference to a merged id moves it to the survivor, once (`shared/merges.py`).

    `id` is the survivor, which kept its id; `record` is the survivor as the directory API now
    shows it (with its `version`), for a service that keeps a copy. The merged records are gone
    from the directory: their ids answer 301 (GET) or 410 with the survivor's id for a while, and
    a service resolves a merged id it meets later (a late event, an old link) with
    `shared.merges.resolve`. Consent never weakens: a service keeps, for the survivor, every
    opt-out and suppression any of the merged records had.
    """

    id: str = Field(description="The surviving record, which kept its id")
    merged_ids: list[str] = Field(min_length=1, description="The records merged into it, gone from the directory")
    merge_id: str = Field(description="The merge, as the audit trail and the merge's answer name it")
    record: dict[str, Any] = Field(default_factory=dict, description="The survivor after the merge")


class TenantAccessChanged(BaseModel):
    """The tenant's access settings as the directory now holds them. A service that shows the
    directory's records (email: a contact's mails, a preview for a contact) applies the same rule:
    a module in `open_modules` (accounts, contacts, target groups) is readable by every user."""

    open_modules: list[str] = Field(default_factory=list, description="Modules every user of the tenant may see")


class ClassChanged(BaseModel):
    id: str
    name: str
    classification_type_id: str | None = None


class UserCreated(BaseModel):
    """A user of the tenant: made by an admin, a confirmed sign-up or provisioning. Users are not
    deleted (a leaver is made inactive), so a service that must know whether a user id is one of the
    tenant's keeps these ids (activities: goals and sales targets)."""

    id: str


class GroupChanged(BaseModel):
    """A user group and its members (user ids) after the change."""

    id: str
    name: str
    member_ids: list[str] = Field(default_factory=list)


_SPECS: list[tuple[str, type[BaseModel], str]] = [
    ("account.created", RecordChanged, "An account was created."),
    ("account.updated", RecordChanged, "An account was changed (status, manager, fields)."),
    ("account.deleted", RecordDeleted, "An account was deleted."),
    ("contact.created", RecordChanged, "A contact was created."),
    ("contact.updated", RecordChanged, "A contact was changed."),
    ("contact.deleted", RecordDeleted, "A contact was deleted."),
    ("contact.merged", RecordMerged, "Contacts were merged into a survivor; move references to merged_ids to id."),
    ("account.merged", RecordMerged, "Accounts were merged into a survivor; move references to merged_ids to id."),
    ("contact.erased", ContactErased, "A contact's personal data was erased (GDPR); erase yours."),
    ("tenant.access_changed", TenantAccessChanged, "The tenant's open modules changed (TenantSettings)."),
    ("class.created", ClassChanged, "A class (of a classification type) was created."),
    ("user.created", UserCreated, "A user joined the tenant (by an admin, a sign-up or provisioning)."),
    ("group.created", GroupChanged, "A user group was created (it has no members yet)."),
    ("group.updated", GroupChanged, "A user group's members changed; member_ids is the whole list after it."),
]

for _type, _payload, _description in _SPECS:
    catalogue.register(_type, _payload, producer=PRODUCER, description=_description)
