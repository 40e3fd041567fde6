"""Who sees, changes and deletes which records, by owner.

Every record has one owner, a user or a group. The rules take the caller's role, id and groups
as plain values (no auth context), and for managers the members of the manager's groups.

- admin: sees, changes and deletes every record of the tenant.
- manager: sees, changes and deletes records owned by themselves, by their groups, or by a user
  who is a member of one of their groups (their team).
- user: sees and changes records owned by themselves or by their groups; deletes only their own.
- A module listed in `TenantSettings.open_modules` is readable by everyone in the tenant; it
  does not widen who may change or delete (visibility only).
- A public target group is readable by everyone in the tenant (same as an open module).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .models import Module, Owner, Role, TenantSettings

GroupMembers = Mapping[str, Collection[str]]


def _team_members(user_groups: Collection[str], group_members: GroupMembers | None) -> set[str]:
    members: set[str] = set()
    for group_id in user_groups:
        members.update((group_members or {}).get(group_id, ()))
    return members


def owner_scope(
    role: Role,
    user_id: str,
    user_groups: Collection[str],
    group_members: GroupMembers | None = None,
) -> set[str] | None:
    """Owner ids whose records the caller may change (None = every record)."""
    if role == Role.ADMIN:
        return None
    scope = {user_id, *user_groups}
    if role == Role.MANAGER:
        scope |= _team_members(user_groups, group_members)
    return scope


def visible_owner_ids(
    role: Role,
    user_id: str,
    user_groups: Collection[str],
    module: Module,
    settings: TenantSettings,
    group_members: GroupMembers | None = None,
) -> set[str] | None:
    """Owner ids whose records of `module` the caller sees; None means every record.

    Stores use it to choose between a tenant-wide query and per-owner queries.
    """
    if module in settings.open_modules:
        return None
    return owner_scope(role, user_id, user_groups, group_members)


def _in_scope(scope: set[str] | None, owner: Owner) -> bool:
    return scope is None or owner.id in scope


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
    if public:
        return True
    scope = visible_owner_ids(role, user_id, user_groups, module, settings, group_members)
    return _in_scope(scope, owner)


def can_write(
    role: Role,
    user_id: str,
    user_groups: Collection[str],
    owner: Owner,
    group_members: GroupMembers | None = None,
) -> bool:
    """Whether the caller may change a record owned by `owner` (open modules do not count)."""
    return _in_scope(owner_scope(role, user_id, user_groups, group_members), owner)


def can_delete(
    role: Role,
    user_id: str,
    user_groups: Collection[str],
    owner: Owner,
    group_members: GroupMembers | None = None,
) -> bool:
    """Admins: any record; managers: their own, their groups' and their team's; users: their own."""
    if role == Role.USER:
        return owner.type == "user" and owner.id == user_id
    return can_write(role, user_id, user_groups, owner, group_members)


def can_assign_owner(
    role: Role,
    user_id: str,
    user_groups: Collection[str],
    owner: Owner,
    group_members: GroupMembers | None = None,
) -> bool:
    """Whether the caller may give a record to `owner` (on create or when changing the owner).

    The same scope as writing: nobody can hand a record to an owner outside their own reach,
    which would make it disappear from their view by mistake. Whether `owner` exists is the
    store's check.
    """
    return can_write(role, user_id, user_groups, owner, group_members)
