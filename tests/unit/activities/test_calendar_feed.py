"""The iCalendar rendering of a user's calendar (RFC 5545), read back with a real parser."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from services.activities.calendar import feed_id_of, feed_token
from services.activities.domain.calendar import (
    CalendarEntry,
    CalendarLinks,
    EntryKind,
    all_day_dates,
    latest_per_uid,
    render_feed,
)

pytestmark = pytest.mark.disable_socket

HELSINKI = timezone(timedelta(hours=2))
NOW = datetime(2026, 11, 24, 12, 30, 15, tzinfo=UTC)


def entry(**changes: object) -> CalendarEntry:
    base = CalendarEntry(
        kind=EntryKind.event,
        id="01EVENT",
        subject="Quarterly review",
        start=datetime(2026, 12, 1, 9, 0, tzinfo=HELSINKI),
        end=datetime(2026, 12, 1, 10, 30, tzinfo=HELSINKI),
        status="open",
        sequence=2,
        updated_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        user_id="u1",
        links=CalendarLinks(activity_id="01EVENT"),
    )
    return base.model_copy(update=changes)


def parsed(*entries: CalendarEntry) -> Calendar:
    return Calendar.from_ical(render_feed(entries, "Kontakt", NOW))


def events(calendar: Calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_the_calendar_carries_the_properties_a_subscribing_client_needs() -> None:
    calendar = parsed(entry())
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//Kontakt//")
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Kontakt"


def test_an_event_has_a_stable_uid_utc_times_its_sequence_and_status() -> None:
    text = render_feed([entry()], "Kontakt", NOW).decode()
    assert "DTSTART:20261201T070000Z\r\n" in text  # 09:00 at +02:00 is 07:00 UTC
    assert "DTEND:20261201T083000Z\r\n" in text
    assert "DTSTAMP:20261124T123015Z\r\n" in text
    assert "LAST-MODIFIED:20261120T080000Z\r\n" in text
    event = events(Calendar.from_ical(text))["event-01EVENT@kontakt"]
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    assert event.decoded("DTSTAMP") == NOW  # type: ignore[attr-defined]
    assert int(event["SEQUENCE"]) == 2  # type: ignore[index]
    assert str(event["STATUS"]) == "CONFIRMED"  # type: ignore[index]
    assert str(event["SUMMARY"]) == "Quarterly review"  # type: ignore[index]
    again = events(parsed(entry(subject="Renamed", sequence=3)))
    assert list(again) == ["event-01EVENT@kontakt"]  # same UID after a change: the client replaces it


def test_a_cancelled_entry_is_published_as_cancelled() -> None:
    event = events(parsed(entry(cancelled=True, status="cancelled", sequence=3)))["event-01EVENT@kontakt"]
    assert str(event["STATUS"]) == "CANCELLED"  # type: ignore[index]
    assert int(event["SEQUENCE"]) == 3  # type: ignore[index]


def test_text_is_escaped_and_survives_a_round_trip() -> None:
    nasty = "Offer, price; path C:\\temp\nsecond line"
    text = render_feed([entry(subject=nasty, description=nasty, location="Room 1, floor 2")], "Kontakt", NOW).decode()
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:Offer\\, price\\; path C:\\\\temp\\nsecond line\r\n" in unfolded
    assert "LOCATION:Room 1\\, floor 2\r\n" in unfolded
    event = events(Calendar.from_ical(text))["event-01EVENT@kontakt"]
    assert str(event["SUMMARY"]) == nasty  # type: ignore[index]
    assert str(event["DESCRIPTION"]) == nasty  # type: ignore[index]


def test_lines_end_in_crlf_and_fold_at_75_octets() -> None:
    long_text = "Tarjouksen läpikäynti ja sopimusehdot " * 20
    body = render_feed([entry(description=long_text)], "Kontakt", NOW)
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    lines = body.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the description was folded
    for line in lines:
        line.decode("utf-8")  # never folded inside a multi-byte character
    event = events(Calendar.from_ical(body))["event-01EVENT@kontakt"]
    assert str(event["DESCRIPTION"]) == long_text  # type: ignore[index]


def test_an_all_day_entry_goes_out_as_dates_with_an_exclusive_end() -> None:
    day = entry(
        all_day=True,
        start=datetime(2026, 12, 1, 0, 0, tzinfo=HELSINKI),
        end=datetime(2026, 12, 1, 23, 59, tzinfo=HELSINKI),
    )
    text = render_feed([day], "Kontakt", NOW).decode()
    assert "DTSTART;VALUE=DATE:20261201\r\n" in text  # the client's date, not the UTC one (Nov 30)
    assert "DTEND;VALUE=DATE:20261202\r\n" in text
    event = events(Calendar.from_ical(text))["event-01EVENT@kontakt"]
    assert event.decoded("DTSTART") == date(2026, 12, 1)  # type: ignore[attr-defined]


def test_an_all_day_event_stored_in_utc_is_on_the_dates_of_the_tenants_zone() -> None:
    # 2026-12-01 00:00 to 23:59 in Helsinki, as stored (UTC): Nov 30 22:00 to Dec 1 21:59
    day = entry(
        all_day=True,
        start=datetime(2026, 11, 30, 22, 0, tzinfo=UTC),
        end=datetime(2026, 12, 1, 21, 59, tzinfo=UTC),
    )
    text = render_feed([day], "Kontakt", NOW, HELSINKI).decode()
    assert "DTSTART;VALUE=DATE:20261201\r\n" in text and "DTEND;VALUE=DATE:20261202\r\n" in text
    utc = render_feed([day], "Kontakt", NOW).decode()
    assert "DTSTART;VALUE=DATE:20261130\r\n" in utc  # without the zone: the UTC dates


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (datetime(2026, 12, 1), datetime(2026, 12, 1, 12), (date(2026, 12, 1), date(2026, 12, 2))),
        (datetime(2026, 12, 1), datetime(2026, 12, 3), (date(2026, 12, 1), date(2026, 12, 3))),
        (datetime(2026, 12, 1), datetime(2026, 12, 3, 0, 1), (date(2026, 12, 1), date(2026, 12, 4))),
        (datetime(2026, 12, 1), None, (date(2026, 12, 1), date(2026, 12, 2))),
        (datetime(2026, 12, 1), datetime(2026, 12, 1), (date(2026, 12, 1), date(2026, 12, 2))),
    ],
)
def test_all_day_dates(start: datetime, end: datetime | None, expected: tuple[date, date]) -> None:
    assert all_day_dates(start, end) == expected


def test_a_booking_without_an_end_has_no_dtend_and_its_own_uid() -> None:
    booking = entry(kind=EntryKind.booking, id="01BOOK", end=None, channel="phone")
    event = events(parsed(booking, entry()))
    assert set(event) == {"booking-01BOOK@kontakt", "event-01EVENT@kontakt"}
    assert "DTEND" not in event["booking-01BOOK@kontakt"]  # type: ignore[operator]


def test_one_entry_per_uid_the_live_item_over_its_tombstone() -> None:
    live = entry(sequence=4)
    tombstone = entry(sequence=5, cancelled=True, status="cancelled")
    assert latest_per_uid([tombstone, live]) == [live]
    newer = entry(sequence=6)
    assert latest_per_uid([live, newer]) == [newer]
    assert latest_per_uid([tombstone]) == [tombstone]


def test_entries_come_out_in_start_order() -> None:
    late = entry(id="02LATE", start=datetime(2026, 12, 2, 9, tzinfo=UTC), end=None)
    early = entry(id="01EARLY", start=datetime(2026, 12, 1, 6, tzinfo=UTC), end=None)
    assert [e.id for e in latest_per_uid([late, early])] == ["01EARLY", "02LATE"]


def test_a_feed_token_is_accepted_only_as_made() -> None:
    key = b"k" * 32
    token = feed_token(key, "abcDEF123_-xyzabcDEF123")
    assert feed_id_of(key, token) == "abcDEF123_-xyzabcDEF123"
    assert feed_id_of(key, token + ".ics") == "abcDEF123_-xyzabcDEF123"
    assert feed_id_of(b"other" * 8, token) is None
    assert feed_id_of(key, "x" + token) is None
    assert feed_id_of(key, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert feed_id_of(key, "nodot") is None
    assert feed_id_of(key, "") is None
