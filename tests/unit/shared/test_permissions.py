"""The kernel's permission check (shared/permissions.py)."""

import pytest

from shared.auth import Role
from shared.permissions import Action, Policy, Subject, allows, may_give_to, reach, visible_owners
from shared.types import Owner

USER = Subject.acting("U1", Role.USER, ["G1"])
MANAGER = Subject.acting("M1", Role.MANAGER, ["G1"], team=["U1", "U2"])
ADMIN = Subject.acting("A1", Role.ADMIN)


def user(id_: str) -> Owner:
    return Owner(type="user", id=id_)


def group(id_: str) -> Owner:
    return Owner(type="group", id=id_)


@pytest.mark.parametrize(
    ("subject", "action", "owner", "expected"),
    [
        (USER, Action.VIEW, user("U1"), True),
        (USER, Action.VIEW, group("G1"), True),
        (USER, Action.VIEW, user("U9"), False),
        (USER, Action.EXPORT, user("U9"), False),
        (USER, Action.CHANGE, group("G1"), True),
        (USER, Action.SEND, user("U9"), False),
        (USER, Action.DELETE, group("G1"), False),  # users delete only their own
        (USER, Action.ASSIGN, group("G1"), False),  # a member of the owning group is not the owner
        (USER, Action.ASSIGN, user("U1"), True),
        (MANAGER, Action.ASSIGN, user("U2"), True),
        (MANAGER, Action.ASSIGN, user("U9"), True),  # managers reach every record
        (MANAGER, Action.DELETE, group("G1"), True),
        (ADMIN, Action.DELETE, user("U9"), True),
        (ADMIN, Action.ASSIGN, group("G9"), True),
    ],
)
def test_owner_rules(subject: Subject, action: Action, owner: Owner, expected: bool) -> None:
    assert allows(subject, action, "contacts", owner) is expected


def test_open_resource_is_readable_not_writable() -> None:
    policy = Policy(open_resources=frozenset({"contacts"}))
    assert allows(USER, Action.VIEW, "contacts", user("U9"), policy) is True
    assert allows(USER, Action.CHANGE, "contacts", user("U9"), policy) is False
    assert visible_owners(USER, "contacts", policy) is None
    assert visible_owners(USER, "accounts", policy) == {"U1", "G1"}


def test_public_record_is_readable() -> None:
    assert allows(USER, Action.VIEW, "target_groups", user("U9"), public=True) is True
    assert allows(USER, Action.CHANGE, "target_groups", user("U9"), public=True) is False


def test_role_gate() -> None:
    policy = Policy(roles={("campaigns", Action.SEND): frozenset({Role.ADMIN, Role.MANAGER})})
    assert allows(USER, Action.SEND, "campaigns", None, policy) is False
    assert allows(USER, Action.SEND, "campaigns", user("U1"), policy) is False
    assert allows(MANAGER, Action.SEND, "campaigns", None, policy) is True
    assert allows(USER, Action.CREATE, "campaigns", None, policy) is True


def test_managers_see_all_unless_the_policy_limits_them_to_their_team() -> None:
    team_only = Policy(managers_see_all=False)
    assert reach(MANAGER) is None
    assert reach(MANAGER, team_only) == {"M1", "G1", "U1", "U2"}
    assert allows(MANAGER, Action.DELETE, "contacts", user("U9"), team_only) is False
    assert may_give_to(MANAGER, user("U9"), team_only) is False
    assert reach(ADMIN) is None


def test_giving_a_record_stays_within_reach() -> None:
    assert may_give_to(USER, group("G1")) is True
    assert may_give_to(USER, user("U2")) is False
    assert may_give_to(MANAGER, user("U2")) is True
