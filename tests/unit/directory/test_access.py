import pytest

from services.directory.domain.access import (
    can_assign_owner,
    can_delete,
    can_read,
    can_write,
    owner_scope,
    visible_owner_ids,
)
from services.directory.domain.models import Owner, Role, TenantSettings

CLOSED = TenantSettings()
OPEN_CONTACTS = TenantSettings(open_modules=["contacts"])
# G1: the caller's group (members U1, U2); G2: another group (member U3).
MEMBERS = {"G1": {"U1", "U2"}, "G2": {"U3"}}


def user(id_: str) -> Owner:
    return Owner(type="user", id=id_)


def group(id_: str) -> Owner:
    return Owner(type="group", id=id_)


def test_admin_sees_everything() -> None:
    assert visible_owner_ids(Role.ADMIN, "U1", ["G1"], "accounts", CLOSED, MEMBERS) is None


def test_user_sees_own_and_group_records() -> None:
    assert visible_owner_ids(Role.USER, "U1", ["G1"], "accounts", CLOSED, MEMBERS) == {"U1", "G1"}


def test_manager_sees_every_record() -> None:
    assert visible_owner_ids(Role.MANAGER, "U1", ["G1"], "accounts", CLOSED, MEMBERS) is None


def test_open_module_is_visible_to_everyone() -> None:
    assert visible_owner_ids(Role.USER, "U1", [], "contacts", OPEN_CONTACTS) is None
    assert visible_owner_ids(Role.USER, "U1", [], "accounts", OPEN_CONTACTS) == {"U1"}


@pytest.mark.parametrize(
    ("role", "owner", "expected"),
    [
        (Role.ADMIN, user("U9"), True),
        (Role.MANAGER, user("U2"), True),
        (Role.MANAGER, user("U3"), True),  # admins and managers see everything
        (Role.MANAGER, group("G1"), True),
        (Role.MANAGER, group("G2"), True),
        (Role.USER, user("U1"), True),
        (Role.USER, group("G1"), True),
        (Role.USER, user("U2"), False),
    ],
)
def test_can_read(role: Role, owner: Owner, expected: bool) -> None:
    assert can_read(role, "U1", ["G1"], "accounts", CLOSED, owner, MEMBERS) is expected


def test_can_read_open_module_and_public_target_group() -> None:
    assert can_read(Role.USER, "U1", [], "contacts", OPEN_CONTACTS, user("U9")) is True
    assert can_read(Role.USER, "U1", [], "target_groups", CLOSED, user("U9"), public=True) is True
    assert can_read(Role.USER, "U1", [], "target_groups", CLOSED, user("U9")) is False


@pytest.mark.parametrize(
    ("role", "owner", "expected"),
    [
        (Role.ADMIN, user("U9"), True),
        (Role.MANAGER, user("U2"), True),
        (Role.MANAGER, group("G1"), True),
        (Role.MANAGER, user("U3"), True),
        (Role.USER, user("U1"), True),
        (Role.USER, group("G1"), True),
        (Role.USER, user("U2"), False),
    ],
)
def test_can_write(role: Role, owner: Owner, expected: bool) -> None:
    assert can_write(role, "U1", ["G1"], owner, MEMBERS) is expected


@pytest.mark.parametrize(
    ("role", "owner", "expected"),
    [
        (Role.ADMIN, user("U9"), True),
        (Role.MANAGER, group("G1"), True),
        (Role.MANAGER, user("U2"), True),
        (Role.MANAGER, group("G2"), True),
        (Role.USER, user("U1"), True),
        (Role.USER, group("G1"), False),  # users delete only their own
        (Role.USER, user("U2"), False),
    ],
)
def test_can_delete(role: Role, owner: Owner, expected: bool) -> None:
    assert can_delete(role, "U1", ["G1"], owner, MEMBERS) is expected


def test_open_module_does_not_grant_write() -> None:
    assert can_read(Role.USER, "U1", [], "contacts", OPEN_CONTACTS, user("U9")) is True
    assert can_write(Role.USER, "U1", [], user("U9")) is False
    assert can_write(Role.MANAGER, "U1", ["G1"], user("U9"), MEMBERS) is True  # a manager changes every record


def test_assigning_owner_stays_within_reach() -> None:
    assert can_assign_owner(Role.USER, "U1", ["G1"], group("G1")) is True
    assert can_assign_owner(Role.USER, "U1", ["G1"], user("U2"), MEMBERS) is False
    assert can_assign_owner(Role.MANAGER, "U1", ["G1"], user("U2"), MEMBERS) is True
    assert can_assign_owner(Role.ADMIN, "U1", [], user("U9")) is True
    assert owner_scope(Role.ADMIN, "U1", []) is None
