"""Contact orders [003]: the tenant's settings (number prefix, list order, statuses) and permissions.

Permissions [003 "Rättigheter"]: view, view only assigned, edit, create, delete, assign, assign
self, delete uploaded files; each role of the tenant has a set of them (admins edit the sets).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from shared.auth import Role
from shared.errors import Forbidden, ValidationFailed
from shared.types import INPUT, Code, Text100, duplicate, reject_null

Prefix = Annotated[str, StringConstraints(max_length=10, pattern=r"^[A-Za-z0-9_/#-]*$")]


class Permission(StrEnum):
    view = "view"
    view_assigned = "view_assigned"
    edit = "edit"
    create = "create"
    delete = "delete"
    assign = "assign"
    assign_self = "assign_self"
    delete_files = "delete_files"


class SortBy(StrEnum):
    planned_date = "planned_date"
    number = "number"


class StatusItem(BaseModel):
    """A status an order can have; an inactive one stays on orders that have it but is not chosen anew."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    label: Text100
    active: bool = True


def _unique(items: list[StatusItem] | None) -> list[StatusItem] | None:
    if items is None:
        return None
    codes = [i.code for i in items]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise duplicate(f"duplicate codes: {', '.join(twice)}")
    if not any(i.active for i in items):
        raise PydanticCustomError("none_active", "at least one status must be active")
    return items


# At least one item active (`active` left out is true): stated as `contains`; each code at most once.
StatusList = Annotated[
    list[StatusItem],
    Field(
        min_length=1,
        max_length=100,
        description="Each code at most once; at least one active",
        json_schema_extra={"contains": {"not": {"properties": {"active": {"const": False}}, "required": ["active"]}}},
    ),
]
PermissionSet = Annotated[list[Permission], Field(max_length=len(Permission))]

DEFAULT_PERMISSIONS: dict[Role, list[Permission]] = {
    Role.ADMIN: list(Permission),
    Role.MANAGER: list(Permission),
    Role.USER: [Permission.view, Permission.edit, Permission.create, Permission.assign, Permission.assign_self],
}


def default_statuses() -> list[StatusItem]:
    return [
        StatusItem(code="new", label="New"),
        StatusItem(code="in_progress", label="In progress"),
        StatusItem(code="waiting", label="Waiting for the customer"),
        StatusItem(code="follow_up", label="Follow-up"),
    ]


class ContactOrderSettings(BaseModel):
    """The tenant's contact-order settings [003 "Kontaktorderinställningar"]."""

    model_config = ConfigDict(extra="ignore")

    number_prefix: Prefix = Field("KO-", description="Put before the running number (e.g. KO-17)")
    sort_by: SortBy = Field(SortBy.planned_date, description="The list's order; closed orders are always last")
    statuses: StatusList = Field(default_factory=default_statuses)
    permissions: dict[Role, PermissionSet] = Field(
        default_factory=lambda: {r: list(p) for r, p in DEFAULT_PERMISSIONS.items()},
        description="Each role's permissions",
    )

    @field_validator("statuses")
    @classmethod
    def _unique_statuses(cls, items: list[StatusItem]) -> list[StatusItem] | None:
        return _unique(items)

    @field_validator("permissions")
    @classmethod
    def _every_role(cls, value: dict[Role, list[Permission]]) -> dict[Role, list[Permission]]:
        return {role: sorted(set(value.get(role, [])), key=list(Permission).index) for role in Role}

    def of(self, role: Role) -> set[Permission]:
        return set(self.permissions.get(role, []))

    def default_status(self) -> str:
        return next(s.code for s in self.statuses if s.active)


class SettingsUpdate(BaseModel):
    """PATCH by an admin: only the fields sent change."""

    model_config = INPUT

    number_prefix: Prefix | None = None
    sort_by: SortBy | None = None
    statuses: StatusList | None = None
    permissions: dict[Role, PermissionSet] | None = None

    _not_null = field_validator("number_prefix", "sort_by", "statuses", "permissions")(reject_null)

    @field_validator("statuses")
    @classmethod
    def _unique_statuses(cls, items: list[StatusItem] | None) -> list[StatusItem] | None:
        return _unique(items)


def check_status(settings: ContactOrderSettings, code: str, field_name: str = "status") -> None:
    item = next((s for s in settings.statuses if s.code == code), None)
    if item is None:
        raise ValidationFailed.on(
            field_name, f"'{code}' is not in the tenant's contact-order statuses.", "unknown_code"
        )
    if not item.active:
        raise ValidationFailed.on(field_name, f"'{code}' is no longer an active status.", "inactive_code")


def format_number(prefix: str, sequence: int) -> str:
    return f"{prefix}{sequence}"


def require(permissions: set[Permission], needed: Permission, what: str) -> None:
    if needed not in permissions:
        raise Forbidden(f"You lack the contact-order permission '{needed}' needed to {what}.")


def require_any_view(permissions: set[Permission]) -> None:
    if not permissions & {Permission.view, Permission.view_assigned}:
        raise Forbidden("You lack the contact-order permission 'view' (or 'view_assigned').")
