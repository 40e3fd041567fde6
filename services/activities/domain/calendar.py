"""What a user's calendar holds, and its rendering as an iCalendar feed (RFC 5545).

A calendar entry is an event (an activity of kind event) or a booking of a contact order. A
client subscribed to the feed (Google Calendar, Outlook) matches entries by UID and takes the one
with the highest SEQUENCE: so the UID never changes for an item, a change raises the sequence,
and a deleted item is published once more as STATUS:CANCELLED with a higher sequence (a
tombstone) instead of just disappearing, which some clients would never notice.

Times go out in UTC ("Z"); an all-day entry goes out as dates (VALUE=DATE), the end exclusive.
The `icalendar` library does the escaping, CRLF line ends and 75-octet folding.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shared.types import OUTPUT

PRODID = "-//Kontakt//Kontakt CRM calendar feed//EN"
UID_DOMAIN = "kontakt"
REFRESH = timedelta(hours=1)


class EntryKind(StrEnum):
    event = "event"
    booking = "booking"


class CalendarLinks(BaseModel):
    """What a calendar entry or a to-do item links to."""

    model_config = OUTPUT

    activity_id: str | None = None
    contact_order_id: str | None = None
    order_number: str | None = None
    account_id: str | None = None
    contact_id: str | None = None


class CalendarEntry(BaseModel):
    """One item of a user's calendar, as GET /calendar lists it and the feed publishes it."""

    model_config = OUTPUT

    kind: EntryKind
    id: str
    subject: str
    description: str | None = None
    location: str | None = None
    start: datetime
    end: datetime | None = None
    all_day: bool = False
    status: str = Field(description="event: open|completed; booking: open|done|cancelled")
    cancelled: bool = Field(False, description="Deleted or cancelled: the feed shows it as STATUS:CANCELLED")
    sequence: int = Field(0, description="iCalendar SEQUENCE: raised by every change a calendar must show")
    updated_at: datetime
    user_id: str = Field(description="Whose calendar it is in")
    channel: str | None = Field(None, description="Bookings: digital, meeting or phone")
    links: CalendarLinks = Field(default_factory=CalendarLinks)

    @property
    def uid(self) -> str:
        """Stable for the item's whole life, whatever changes."""
        return f"{self.kind.value}-{self.id}@{UID_DOMAIN}"


def latest_per_uid(entries: Iterable[CalendarEntry]) -> list[CalendarEntry]:
    """One entry per UID: a live item wins over its tombstone, else the higher sequence wins.

    An event moved away from a user's calendar and back again has both a tombstone and the live
    item in that calendar; a client must see the live one.
    """
    chosen: dict[str, CalendarEntry] = {}
    for entry in entries:
        current = chosen.get(entry.uid)
        if current is None or _rank(entry) > _rank(current):
            chosen[entry.uid] = entry
    return sorted(chosen.values(), key=lambda e: (_utc(e.start), e.uid))


def _rank(entry: CalendarEntry) -> tuple[bool, int]:
    return (not entry.cancelled, entry.sequence)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def all_day_dates(start: datetime, end: datetime | None) -> tuple[date, date]:
    """The first day and the exclusive end day of an all-day entry, in the dates the client gave.

    An end at midnight of a later day is that day (exclusive already); any other end covers its day.
    """
    first = start.date()
    if end is None:
        return first, first + timedelta(days=1)
    last = end.date()
    if end.timetz().replace(tzinfo=None) == time(0) and last > first:
        return first, last
    return first, max(last, first) + timedelta(days=1)


def _vevent(entry: CalendarEntry, generated_at: datetime, zone: tzinfo | None = None) -> Any:
    from icalendar import Event  # imported with render_feed, see there

    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", _utc(generated_at))
    if entry.all_day:
        # Times are stored in UTC: an all-day event's dates are those of the tenant's zone.
        start = entry.start.astimezone(zone) if zone else entry.start
        end = entry.end.astimezone(zone) if zone and entry.end else entry.end
        first, after = all_day_dates(start, end)
        event.add("dtstart", first)
        event.add("dtend", after)
    else:
        event.add("dtstart", _utc(entry.start))
        if entry.end is not None:
            event.add("dtend", _utc(max(entry.end, entry.start)))
    event.add("summary", entry.subject)
    if entry.description:
        event.add("description", entry.description)
    if entry.location:
        event.add("location", entry.location)
    event.add("sequence", entry.sequence)
    event.add("last-modified", _utc(entry.updated_at))
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if entry.cancelled else "OPAQUE")
    return event


def render_feed(
    entries: Iterable[CalendarEntry], name: str, generated_at: datetime, zone: tzinfo | None = None
) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH) with one VEVENT per item, as UTF-8 bytes with CRLF line ends;
    all-day events on the dates of `zone` (the tenant's; None: the dates of the times as given)."""
    # Imported here: only the feed route pays for the library's import, not every cold start.
    from icalendar import Calendar, vText

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", vText(name))  # a text value: escaped like SUMMARY
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for entry in latest_per_uid(entries):
        calendar.add_component(_vevent(entry, generated_at, zone))
    result: bytes = calendar.to_ical()
    return result
