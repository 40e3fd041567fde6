"""Contact orders [003]: bookings of the next contact (digital, meeting, phone), the API models and rules.

A booking goes to its user's calendar and to-do list and reminds them when due; booking for a
colleague assigns them work.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from services.activities.domain.models import Description
from shared.errors import ValidationFailed
from shared.types import INPUT, OUTPUT, OptId, reject_null

MAX_BOOKINGS = 40


class Channel(StrEnum):
    digital = "digital"
    meeting = "meeting"
    phone = "phone"


class BookingStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class BookingCreate(BaseModel):
    model_config = INPUT

    channel: Channel
    start: AwareDatetime
    end: AwareDatetime | None = Field(None, description="Not before `start`")
    user_id: OptId = Field(None, description="Whose calendar and to-do list it goes to; the caller when left out")
    note: Description = None


class BookingUpdate(BaseModel):
    model_config = INPUT

    channel: Channel | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    user_id: OptId = None
    note: Description = None
    status: BookingStatus | None = None

    _not_null = field_validator("channel", "start", "user_id", "status")(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Booking(BaseModel):
    model_config = OUTPUT

    id: str
    order_id: str
    order_number: str
    subject: str
    channel: Channel
    start: datetime
    end: datetime | None = None
    user_id: str
    note: str | None = None
    status: BookingStatus = BookingStatus.open
    account_id: str | None = None
    contact_id: str | None = None
    sequence: int = Field(0, description="Bumped on every change (iCalendar SEQUENCE)")
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


def check_booking_times(start: datetime, end: datetime | None) -> None:
    if end is not None and end < start:
        raise ValidationFailed.on("end", "A booking cannot end before it starts.", "before_start")


def booking_reminder(booking: Booking, now: datetime) -> datetime | None:
    """When the reminder sweep should remind the booking's user: at the start, if open and still ahead."""
    if booking.status == BookingStatus.open and booking.start > now:
        return booking.start
    return None
