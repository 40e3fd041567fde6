"""Contact orders [003]: bookings of the next contact (digital, meeting, phone).

`booking` records (versioned): `by_type` `T#<t>#BOOKING` / `<order id>#<id>`; `by_calendar`
always (a cancelled one stays, so the calendar feed cancels it); `by_todo` while open; `by_due`
while open and ahead (the reminder sweep, reminders.py). A booking copies its order's number,
subject, customer and contact, kept in step when they change; closing or deleting the order
cancels its bookings.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from services.activities.activities import stamp
from services.activities.calendar import booking_entry, stage_cancellation
from services.activities.domain.contact_orders import ContactOrder
from services.activities.domain.order_bookings import (
    MAX_BOOKINGS,
    Booking,
    BookingCreate,
    BookingStatus,
    BookingUpdate,
    booking_reminder,
    check_booking_times,
)
from services.activities.domain.order_settings import Permission, require
from services.activities.order_records import change_order, load_order, touched
from services.activities.order_settings import permissions
from services.activities.service import Caller
from services.activities.store import Record, new_record
from shared import clock
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.service import patch_changes
from shared.store import UnitOfWork, tenant_key

BOOKING = "booking"


def _booking_record(tenant: str, booking: Booking) -> Record:
    record = new_record(tenant, BOOKING, booking.id, _booking_data(booking))
    record.gsi1sk = f"{booking.order_id}#{booking.id}"
    return record


def _booking_data(booking: Booking) -> dict[str, Any]:
    return booking.model_dump(mode="json", exclude={"version"})


def _place_booking(record: Record, tenant: str, booking: Booking) -> None:
    """Calendar always (a cancelled booking stays, for the feed), to-do while open, reminder while ahead."""
    at = f"{stamp(booking.start)}#{booking.id}"
    record.gsi2pk, record.gsi2sk = tenant_key(tenant, "CAL", booking.user_id), at
    is_open = booking.status == BookingStatus.open
    record.gsi5pk = tenant_key(tenant, "TODO", booking.user_id) if is_open else None
    record.gsi5sk = at if is_open else None
    reminder = booking_reminder(booking, clock.now())
    record.set_due(tenant, clock.iso(reminder) if reminder else None)


def _bookings(caller: Caller, order_id: str) -> list[tuple[Record, Booking]]:
    records = Record.by_type.query(
        tenant_key(caller.tenant, BOOKING.upper()), Record.gsi1sk.startswith(f"{order_id}#"), limit=MAX_BOOKINGS + 1
    )
    return [(r, Booking.model_validate({**r.data, "version": r.version})) for r in records]


def _stage_booking(caller: Caller, uow: UnitOfWork, record: Record, before: Booking, **changes: Any) -> Booking:
    after = before.model_copy(update={**changes, "sequence": before.sequence + 1, "updated_at": clock.now()})
    after.version = before.version + 1
    _place_booking(record, caller.tenant, after)
    caller.store.replace(uow, record, _booking_data(after))
    return after


def _copied(order: ContactOrder) -> dict[str, Any]:
    """What a booking shows of its order beside its number, kept in step with the order."""
    return {"subject": order.subject, "account_id": order.account_id, "contact_id": order.contact_id}


def stage_booking_copies(caller: Caller, uow: UnitOfWork, order: ContactOrder) -> None:
    """Bookings show their order's subject, customer and contact: keep them in step."""
    for record, booking in _bookings(caller, order.id):
        _stage_booking(caller, uow, record, booking, **_copied(order))


def stage_cancelled(caller: Caller, uow: UnitOfWork, order_id: str, statuses: Collection[BookingStatus]) -> None:
    """Cancel the order's bookings that are in one of `statuses` (they stay: the feed shows them cancelled)."""
    for record, booking in _bookings(caller, order_id):
        if booking.status in statuses:
            _stage_booking(caller, uow, record, booking, status=BookingStatus.cancelled)


def _check_booking_user(caller: Caller, user_id: str) -> None:
    """Booking for a colleague is assigning them work: it needs `assign`."""
    if user_id != caller.user_id:
        require(permissions(caller), Permission.assign, "book a colleague")


def add_booking(caller: Caller, order_id: str, body: BookingCreate) -> Booking:
    check_booking_times(body.start, body.end)
    user_id = body.user_id or caller.user_id

    def change(order: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, Booking]:
        _check_booking_user(caller, user_id)
        if len(_bookings(caller, order_id)) >= MAX_BOOKINGS:
            raise Conflict(f"A contact order holds at most {MAX_BOOKINGS} bookings.")
        now = clock.now()
        booking = Booking(
            id=new_id(),
            order_id=order.id,
            order_number=order.number,
            channel=body.channel,
            start=body.start,
            end=body.end,
            user_id=user_id,
            note=body.note,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
            **_copied(order),
        )
        booking_record = _booking_record(caller.tenant, booking)
        _place_booking(booking_record, caller.tenant, booking)
        caller.store.add(uow, booking_record)
        return touched(order), booking

    return change_order(caller, order_id, change)


def _booking(caller: Caller, order_id: str, booking_id: str) -> tuple[Record, Booking]:
    record = caller.store.get(caller.tenant, BOOKING, booking_id)
    if record is None or record.data.get("order_id") != order_id:
        raise NotFound(f"No booking {booking_id} on contact order {order_id}.")
    return record, Booking.model_validate({**record.data, "version": record.version})


def update_booking(caller: Caller, order_id: str, booking_id: str, body: BookingUpdate) -> Booking:
    changes = body.changes()

    def change(order: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, Booking]:
        booking_record, before = _booking(caller, order_id, booking_id)
        if not patch_changes(before, changes):
            return order, before  # nothing written
        if "user_id" in changes and changes["user_id"] != before.user_id:
            _check_booking_user(caller, changes["user_id"])
        merged = {**before.model_dump(), **changes}
        check_booking_times(merged["start"], merged["end"])
        after = _stage_booking(caller, uow, booking_record, before, **changes)
        if after.user_id != before.user_id:  # it leaves the old user's calendar: their feed shows it cancelled
            stage_cancellation(uow, caller.tenant, booking_entry(_booking_data(before), before.id), after.sequence)
        return touched(order), after

    return change_order(caller, order_id, change)


def list_bookings(caller: Caller, order_id: str) -> list[Booking]:
    load_order(caller, order_id)
    return sorted((b for _, b in _bookings(caller, order_id)), key=lambda b: (b.start, b.id))


def get_booking(caller: Caller, order_id: str, booking_id: str) -> Booking:
    load_order(caller, order_id)
    return _booking(caller, order_id, booking_id)[1]
