"""Pure rules of contact orders [003]: settings, permissions, list order, bookings, input checks."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.activities.domain.contact_orders import (
    ContactOrder,
    ContactOrderCreate,
    LocationIn,
    TimeEntryCreate,
    can_see,
    check_assignees,
    customer_errors,
    day_start,
    rank_by_number,
    rank_by_planned,
)
from services.activities.domain.order_bookings import Booking, BookingStatus, booking_reminder, check_booking_times
from services.activities.domain.order_settings import (
    ContactOrderSettings,
    Permission,
    SettingsUpdate,
    check_status,
    format_number,
)
from shared.auth import Role
from shared.contracts.contact_orders import new_customer_ids
from shared.errors import Forbidden, ValidationFailed

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def order(**changes: Any) -> ContactOrder:
    data: dict[str, Any] = {
        "id": "O1",
        "number": "KO-1",
        "sequence_number": 1,
        "subject": "Sales",
        "account_id": "A1",
        "status": "new",
        "owner_id": "owner",
        "created_by": "owner",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return ContactOrder.model_validate({**data, **changes})


def booking(**changes: Any) -> Booking:
    data: dict[str, Any] = {
        "id": "B1",
        "order_id": "O1",
        "order_number": "KO-1",
        "subject": "Sales",
        "channel": "phone",
        "start": NOW + timedelta(hours=1),
        "user_id": "u1",
        "created_by": "u1",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Booking.model_validate({**data, **changes})


# ----------------------------------------------------------------------------- settings


def test_default_permissions_give_admins_everything_and_users_no_deletes() -> None:
    settings = ContactOrderSettings()
    assert settings.of(Role.ADMIN) == set(Permission)
    assert settings.of(Role.MANAGER) == set(Permission)
    assert settings.of(Role.USER) == {
        Permission.view,
        Permission.edit,
        Permission.create,
        Permission.assign,
        Permission.assign_self,
    }
    assert settings.number_prefix == "KO-" and settings.sort_by == "planned_date"
    assert settings.default_status() == "new"


def test_a_role_left_out_of_the_permissions_has_none() -> None:
    settings = ContactOrderSettings.model_validate({"permissions": {"admin": ["view", "view", "edit"]}})
    assert settings.permissions[Role.ADMIN] == [Permission.view, Permission.edit]
    assert settings.of(Role.USER) == set()


def test_statuses_are_unique_and_one_is_active() -> None:
    with pytest.raises(ValidationError):
        SettingsUpdate.model_validate({"statuses": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]})
    with pytest.raises(ValidationError):
        SettingsUpdate.model_validate({"statuses": [{"code": "a", "label": "A", "active": False}]})
    with pytest.raises(ValidationError):
        SettingsUpdate.model_validate({"sort_by": None})
    listed = ContactOrderSettings.model_validate(
        {"statuses": [{"code": "old", "label": "Old", "active": False}, {"code": "b", "label": "B"}]}
    )
    assert listed.default_status() == "b"
    with pytest.raises(ValidationFailed) as inactive:
        check_status(listed, "old")
    assert inactive.value.errors[0].code == "inactive_code"
    with pytest.raises(ValidationFailed) as unknown:
        check_status(listed, "nope")
    assert unknown.value.errors[0].field == "status"


def test_numbers_take_the_tenant_prefix() -> None:
    assert format_number("KO-", 7) == "KO-7"
    assert format_number("", 12) == "12"


# ----------------------------------------------------------------------------- access


def test_view_sees_everything_view_assigned_only_owned_or_assigned() -> None:
    mine = order(owner_id="u1")
    assigned = order(assignee_ids=["u1"])
    other = order()
    assert all(can_see({Permission.view}, "u1", o) for o in (mine, assigned, other))
    only = {Permission.view_assigned}
    assert [can_see(only, "u1", o) for o in (mine, assigned, other)] == [True, True, False]
    assert not can_see(set(), "u1", mine)


def test_assigning_others_needs_assign_and_oneself_assign_self() -> None:
    check_assignees(set(), "u1", ["u2"], ["u2"])  # nothing changes: nothing needed
    check_assignees({Permission.assign_self}, "u1", ["u2"], ["u2", "u1"])
    check_assignees({Permission.assign_self}, "u1", ["u1"], [])
    check_assignees({Permission.assign}, "u1", [], ["u1", "u2"])
    with pytest.raises(Forbidden, match="assign_self"):
        check_assignees({Permission.edit}, "u1", [], ["u1"])
    with pytest.raises(Forbidden, match="'assign'"):
        check_assignees({Permission.assign_self}, "u1", [], ["u1", "u2"])


# ----------------------------------------------------------------------------- list order


def test_closed_orders_sort_after_open_ones_in_both_orders() -> None:
    def planned(o: ContactOrder) -> str:
        return rank_by_planned(o, day_start(o.planned_date).isoformat() if o.planned_date else "9999")

    early_closed = order(id="A", planned_date=date(2026, 1, 1), closed=True, sequence_number=1)
    late = order(id="B", planned_date=date(2026, 6, 1), sequence_number=10)
    early = order(id="C", planned_date=date(2026, 2, 1), sequence_number=9)
    undated = order(id="D", sequence_number=2)
    orders = [early_closed, late, early, undated]
    assert [o.id for o in sorted(orders, key=planned)] == ["C", "B", "D", "A"]
    assert [o.id for o in sorted(orders, key=rank_by_number)] == ["D", "C", "B", "A"]  # 9 before 10


# ----------------------------------------------------------------------------- bookings


def test_an_open_booking_ahead_is_reminded_at_its_start() -> None:
    ahead = booking()
    assert booking_reminder(ahead, NOW) == ahead.start
    assert booking_reminder(booking(start=NOW - timedelta(minutes=1)), NOW) is None
    assert booking_reminder(booking(status=BookingStatus.done), NOW) is None
    assert booking_reminder(booking(status=BookingStatus.cancelled), NOW) is None


def test_a_booking_cannot_end_before_it_starts() -> None:
    check_booking_times(NOW, None)
    check_booking_times(NOW, NOW)
    with pytest.raises(ValidationFailed) as error:
        check_booking_times(NOW, NOW - timedelta(minutes=1))
    assert error.value.errors[0].field == "end"


# ----------------------------------------------------------------------------- input


def test_a_customer_is_required_existing_or_new_not_both() -> None:
    def fields(**body: Any) -> list[str]:
        return [e.field for e in customer_errors(ContactOrderCreate.model_validate({"subject": "S", **body}))]

    assert fields(account_id="A1") == []
    assert fields(new_customer={"name": "Oy"}) == []
    assert fields() == ["account_id"]
    assert fields(account_id="A1", new_customer={"name": "Oy"}) == ["new_customer"]
    person = {"name": "Oy", "contact": {"first_name": "Mia"}}
    assert fields(new_customer=person, contact_id="C1") == ["contact_id"]
    with pytest.raises(ValidationError):
        ContactOrderCreate.model_validate({"subject": "S", "new_customer": {"name": "Oy", "contact": {}}})


def test_hours_are_decimals_with_two_places() -> None:
    assert TimeEntryCreate.model_validate({"hours": "1.25"}).hours == Decimal("1.25")
    for bad in (0, -1, "1.234"):
        with pytest.raises(ValidationError):
            TimeEntryCreate.model_validate({"hours": bad})
    assert order(hours_spent=Decimal("2.5")).model_dump(mode="json")["hours_spent"] == 2.5


def test_a_location_has_both_coordinates_or_neither() -> None:
    assert LocationIn.model_validate({"address": "Kaivokatu 1"}).latitude is None
    assert LocationIn.model_validate({"latitude": 60.17, "longitude": 24.94}).longitude == 24.94
    with pytest.raises(ValidationError):
        LocationIn.model_validate({"latitude": 60.17})
    with pytest.raises(ValidationError):
        LocationIn.model_validate({"latitude": 91, "longitude": 0})


def test_coordinates_are_kept_to_seven_decimals_so_any_valid_number_can_be_stored() -> None:
    tiny = LocationIn.model_validate({"latitude": 60.123456789, "longitude": 4.489603529156431e-308})
    assert (tiny.latitude, tiny.longitude) == (60.1234568, 0.0)  # DynamoDB stores nothing below 1e-130


def test_a_new_customer_gets_ids_derived_from_its_order() -> None:
    account_id, contact_id = new_customer_ids("O1")
    assert new_customer_ids("O1") == (account_id, contact_id)  # the same on every retry
    assert account_id != contact_id and new_customer_ids("O2")[0] != account_id
