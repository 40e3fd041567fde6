"""Target groups and the conditions that choose their members.

A target group is the audience of mass activities, campaigns, mass email and SMS. Members are
chosen by conditions over contact and account fields (dynamic, re-evaluated on every refresh)
and/or added by hand (static). The type is derived, never sent: "static" without conditions,
"dynamic" with conditions and no hand-added members, "mixed" with both.

Only people who can be contacted are members: a passive (active False) or erased contact never
matches a condition set and is never counted as a member, even when added by hand. This keeps a
mass email or SMS from reaching someone the tenant marked as not to be contacted or whose data
was erased.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# The conditions and their evaluation are shared with services that evaluate them over their own
# copies of contacts; re-exported here for the directory's modules.
from shared import conditions as shared_conditions
from shared.conditions import (  # noqa: F401
    ACCOUNT_PREFIX,
    CONDITION_FIELDS,
    CONDITION_OPS,
    Condition,
    Conditions,
    FieldType,
    IsEmpty,
    Match,
    is_contactable,
    needs_account,
)
from shared.conditions import holds as matches  # noqa: F401  (one condition; `evaluate` takes the set)

from .models import (
    INPUT,
    OUTPUT,
    Id,
    Name200,
    OptText100,
    Owner,
    blank_to_none,
    reject_null,
    resolve_owner,
)


def evaluate(
    contact: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    conditions: Sequence[Condition],
    match: Match = "all",
    class_types: Mapping[str, str] | None = None,
) -> bool:
    """Whether the contact matches the condition set (see `shared.conditions.matches`).

    `contact` and `account` are the output models' fields as plain dicts (`model_dump()`);
    `class_types` maps class id -> classification type id.
    """
    return shared_conditions.matches(conditions, match, contact, account, class_types or {})


def is_member(
    contact: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    group: TargetGroup,
    static_member_ids: Iterable[str] = (),
    class_types: Mapping[str, str] | None = None,
) -> bool:
    """Membership of a contact in a group: added by hand or matching its conditions."""
    if not is_contactable(contact):
        return False
    if contact.get("id") in set(static_member_ids):
        return True
    return evaluate(contact, account, group.conditions, group.match, class_types)


# ---------------------------------------------------------------------------------------------
# Target group models
# ---------------------------------------------------------------------------------------------

TargetGroupType = Literal["static", "dynamic", "mixed"]
OptDescription = Annotated[str, Field(max_length=2000)] | None
MemberIds = Annotated[list[Id], Field(max_length=1000)]


def derive_type(has_conditions: bool, static_member_count: int) -> TargetGroupType:
    if has_conditions and static_member_count > 0:
        return "mixed"
    return "dynamic" if has_conditions else "static"


class TargetGroupCreate(BaseModel):
    model_config = INPUT

    name: Name200
    category: OptText100 = None
    description: OptDescription = None
    public: bool = False
    conditions: Conditions = Field(default_factory=list)
    match: Match = "all"
    contact_ids: MemberIds = Field(default_factory=list)  # members added by hand
    owner: Owner | None = None

    @field_validator("category", "description", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return blank_to_none(value)


class TargetGroupUpdate(BaseModel):
    """PATCH of the group itself; hand-added members change through `TargetGroupMembersChange`."""

    model_config = INPUT

    name: Name200 | None = None
    category: OptText100 = None
    description: OptDescription = None
    public: bool | None = None
    conditions: Conditions | None = None
    match: Match | None = None
    owner: Owner | None = None

    _not_null = field_validator("name", "public", "conditions", "match", "owner")(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class TargetGroupMembersChange(BaseModel):
    """No contact is both in `add` and in `remove` (422 `added_and_removed`: JSON Schema cannot say
    two lists are disjoint)."""

    model_config = INPUT

    add: MemberIds = Field(default_factory=list)
    remove: MemberIds = Field(default_factory=list)

    @field_validator("remove")
    @classmethod
    def _disjoint(cls, remove: list[str], info: ValidationInfo) -> list[str]:
        both = sorted(set(remove) & set(info.data.get("add", [])))
        if both:
            raise PydanticCustomError("added_and_removed", "both added and removed: {ids}", {"ids": ", ".join(both)})
        return remove


class TargetGroupSummary(BaseModel):
    """A target group in a list: without its description and conditions (`GET /target-groups/{id}`)."""

    model_config = OUTPUT

    id: str
    number: str
    name: str
    category: str | None = None
    public: bool = False
    match: Match = "all"
    type: TargetGroupType = "static"
    static_member_count: int = 0
    owner: Owner
    created_at: datetime
    updated_at: datetime
    version: int = 1


class TargetGroup(TargetGroupSummary):
    description: str | None = None
    conditions: list[Condition] = Field(default_factory=list)


def new_target_group(
    data: TargetGroupCreate, *, group_id: str, number: str, caller_user_id: str, now: datetime
) -> TargetGroup:
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    count = len(set(data.contact_ids))
    return TargetGroup(
        id=group_id,
        number=number,
        name=data.name,
        category=data.category,
        description=data.description,
        public=data.public,
        conditions=list(data.conditions),
        match=data.match,
        type=derive_type(bool(data.conditions), count),
        static_member_count=count,
        owner=resolve_owner(data.owner, caller_user_id),
        created_at=now,
        updated_at=now,
        version=1,
    )


def apply_target_group_update(
    group: TargetGroup, update: TargetGroupUpdate, now: datetime, static_member_count: int | None = None
) -> TargetGroup:
    """The group with the sent fields changed and its type re-derived."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    count = group.static_member_count if static_member_count is None else static_member_count
    merged = group.model_dump() | update.changes()
    merged |= {
        "static_member_count": count,
        "type": derive_type(bool(merged["conditions"]), count),
        "updated_at": now,
        "version": group.version + 1,
    }
    return TargetGroup.model_validate(merged)
