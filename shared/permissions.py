"""Who may do what to which record: the one permission check of every service (pure, no I/O).

Every record has one owner, a user or a group (seed 002, "Käyttöoikeudet"). The check takes the
caller as plain values (`Subject`: role, user id, groups, and for a manager the members of their
groups), the resource and action, the record's owner, and the service's and tenant's `Policy`.

- admin: every action on every record of the tenant.
- manager: every record, like an admin (`Policy.managers_see_all`, the default); a policy that
  sets it False limits a manager to their own records, their groups' and their team's (the users
  in their groups).
- user: sees and changes what they or their groups own; deletes only what they own themselves.
- A resource in `Policy.open_resources` is readable (view, export) by everyone in the tenant; it
  does not widen who may change, delete, assign or send. A public record (a public target group)
  is readable by everyone too.
- Changing a record's owner (`Action.ASSIGN`): admins, managers within their reach, and the
  current owner when that is the user themselves (a group member is not "the owner": else a user
  could take a group's record and then delete it). The new owner must be within the caller's
  reach (`may_give_to`), so nobody hands a record to someone out of their own sight by mistake.
- Actions on the resource as a whole (create, import, send) pass the role gate
  `Policy.roles[(resource, action)]` when the policy names one (every role otherwise), then the
  owner check of the record they act on, if any.

A record the caller may not view is "not found" to them, never "forbidden", so ids leak nothing.
Consumers acting for a user (an audience for a campaign, an import) build the user's `Subject`
and go through the same check.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.auth import AuthContext, Role
from shared.types import Owner


class Action(StrEnum):
    VIEW = "view"
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"
    ASSIGN = "assign_owner"
    SEND = "send"
    IMPORT = "import"
    EXPORT = "export"


READS = frozenset({Action.VIEW, Action.EXPORT})


@dataclass(frozen=True)
class Subject:
    """Who acts: role, user id, groups, and (for a manager) the members of their groups."""

    role: Role
    user_id: str
    groups: frozenset[str] = frozenset()
    team: frozenset[str] = frozenset()

    @classmethod
    def of(cls, auth: AuthContext, team: Collection[str] = ()) -> Subject:
        return cls(role=auth.role, user_id=auth.user_id, groups=frozenset(auth.groups), team=frozenset(team))

    @classmethod
    def acting(
        cls, user_id: str, role: Role | str, groups: Collection[str] = (), team: Collection[str] = ()
    ) -> Subject:
        return cls(role=Role(role), user_id=user_id, groups=frozenset(groups), team=frozenset(team))


@dataclass(frozen=True)
class Policy:
    """A service's and tenant's part of the rules: what is open, and who may act on a resource."""

    open_resources: frozenset[str] = frozenset()
    roles: Mapping[tuple[str, Action], frozenset[Role]] = field(default_factory=dict)
    managers_see_all: bool = True  # seed 002 as issue 14 reads it; False limits a manager to their team


DEFAULT = Policy()


def reach(subject: Subject, policy: Policy = DEFAULT) -> set[str] | None:
    """Owner ids whose records the subject may change (None = every record of the tenant)."""
    if subject.role == Role.ADMIN or (subject.role == Role.MANAGER and policy.managers_see_all):
        return None
    scope = {subject.user_id, *subject.groups}
    if subject.role == Role.MANAGER:
        scope |= subject.team
    return scope


def visible_owners(subject: Subject, resource: str, policy: Policy = DEFAULT) -> set[str] | None:
    """Owner ids whose records of `resource` the subject sees (None = every record): lists use it
    to choose between a tenant-wide query and one query per owner."""
    if resource in policy.open_resources:
        return None
    return reach(subject, policy)


def _within(scope: set[str] | None, owner: Owner) -> bool:
    return scope is None or owner.id in scope


def role_allows(subject: Subject, action: Action, resource: str, policy: Policy = DEFAULT) -> bool:
    """The role gate of an action on a resource (every role when the policy names none)."""
    roles = policy.roles.get((resource, action))
    return roles is None or subject.role in roles


def allows(
    subject: Subject,
    action: Action,
    resource: str,
    owner: Owner | None = None,
    policy: Policy = DEFAULT,
    *,
    public: bool = False,
) -> bool:
    """Whether `subject` may do `action` on a record of `resource` owned by `owner`.

    `owner=None` asks about the resource as a whole (create, import, send without a record).
    """
    if not role_allows(subject, action, resource, policy):
        return False
    if owner is None:
        return True
    if action in READS:
        return public or _within(visible_owners(subject, resource, policy), owner)
    if action in (Action.DELETE, Action.ASSIGN) and subject.role == Role.USER:
        return owner.type == "user" and owner.id == subject.user_id
    return _within(reach(subject, policy), owner)


def may_give_to(subject: Subject, owner: Owner, policy: Policy = DEFAULT) -> bool:
    """Whether the subject may make `owner` the owner of a record (on create or reassignment)."""
    return _within(reach(subject, policy), owner)


def creator_owner(created_by: str | None) -> Owner | None:
    """The owner of a record that names only its creator (a service's own records)."""
    if not created_by or created_by.startswith("service:"):
        return None
    return Owner(type="user", id=created_by)
