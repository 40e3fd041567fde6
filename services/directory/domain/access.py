"""The directory's part of the permission rules: its resources and the tenant's settings as a
kernel `Policy`. The rules themselves are the kernel's (`shared/permissions.py`).

- A module listed in `TenantSettings.open_modules` is readable by everyone in the tenant; it
  does not widen who may change or delete (visibility only).
- A public target group is readable by everyone in the tenant (same as an open module).

The functions below take plain values (role, id, groups, members of the manager's groups) and
keep the signatures the directory's callers and tests use.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from shared import permissions as perm
from shared.permissions import Action, Policy, Subject

from .models import Module, Owner, Role, TenantSettings

GroupMembers = Mapping[str, Collection[str]]


def policy(settings: TenantSettings) -> Policy:
    """The tenant's settings as the kernel's policy."""
    return Policy(open_resources=frozenset(settings.open_modules))


def subject(
    role: Role, user_id: str, user_groups: Collection[str], group_members: GroupMembers | None = None
) -> Subject:
    team: set[str] = set()
    if role == Role.MANAGER:
        for group_id in user_groups:
            team.update((group_members or {}).get(group_id, ()))
    return Subject.acting(user_id, role, user_groups, team)


def owner_scope(
    role: Role, user_id: str, user_groups: Collection[str], group_members: GroupMembers | None = None
) -> set[str] | None:
    """Owner ids whose records the caller may change (None = every record)."""
    return perm.reach(subject(role, user_id, user_groups, group_members))


def visible_owner_ids(
    role: Role,
    user_id: str,
    user_groups: Collection[str],
    module: Module,
    settings: TenantSettings,
    group_members: GroupMembers | None = None,
) -> set[str] | None:
    """Owner ids whose records of `module` the caller sees; None means every record."""
    return perm.visible_owners(subject(role, user_id, user_groups, group_members), module, policy(settings))


def can_read(
    role: Role,
    user_id: str,
    user_groups: Collection[str],
    module: Module,
    settings: TenantSettings,
    owner: Owner,
    group_members: GroupMembers | None = None,
    public: bool = False,
) -> bool:
    """Whether the caller may see one record. `public` is a target group's public flag."""
    who = subject(role, user_id, user_groups, group_members)
    return perm.allows(who, Action.VIEW, module, owner, policy(settings), public=public)


def can_write(
    role: Role, user_id: str, user_groups: Collection[str], owner: Owner, group_members: GroupMembers | None = None
) -> bool:
    """Whether the caller may change a record owned by `owner` (open modules do not count)."""
    return perm.allows(subject(role, user_id, user_groups, group_members), Action.CHANGE, "", owner)


def can_delete(
    role: Role, user_id: str, user_groups: Collection[str], owner: Owner, group_members: GroupMembers | None = None
) -> bool:
    """Admins: any record; managers: their own, their groups' and their team's; users: their own."""
    return perm.allows(subject(role, user_id, user_groups, group_members), Action.DELETE, "", owner)


def can_assign_owner(
    role: Role, user_id: str, user_groups: Collection[str], owner: Owner, group_members: GroupMembers | None = None
) -> bool:
    """Whether the caller may give a record to `owner` (on create or when changing the owner)."""
    return perm.may_give_to(subject(role, user_id, user_groups, group_members), owner)
