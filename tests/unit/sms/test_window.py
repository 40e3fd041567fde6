"""The sending window's arithmetic (services/sms/domain/window.py): open or not, the next opening,
in the tenant's zone, across midnight and across the clock changes (Helsinki 2026: the clocks go
forward 03:00 -> 04:00 on 29 March, back 04:00 -> 03:00 on 25 October)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.sms.domain.setup import SmsWindow
from services.sms.domain.window import is_open, next_opening

HELSINKI = ZoneInfo("Europe/Helsinki")


def window(start: str, end: str, zone: str = "Europe/Helsinki") -> SmsWindow:
    return SmsWindow(start=time.fromisoformat(start), end=time.fromisoformat(end), time_zone=zone)


def local(text: str, zone: ZoneInfo = HELSINKI, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


DAY = window("09:00", "20:00")


@pytest.mark.parametrize(
    ("at", "opening"),
    [
        ("2026-06-10T12:00", "2026-06-10T12:00"),  # open: now
        ("2026-06-10T09:00", "2026-06-10T09:00"),  # the start is in
        ("2026-06-10T08:59:59", "2026-06-10T09:00"),  # before it: this morning
        ("2026-06-10T20:00", "2026-06-11T09:00"),  # the end is out: tomorrow morning
        ("2026-06-10T23:30", "2026-06-11T09:00"),
        ("2026-12-31T21:00", "2027-01-01T09:00"),  # over the year's end
    ],
)
def test_a_day_window_opens_at_its_next_start(at: str, opening: str) -> None:
    assert next_opening(DAY, local(at)) == local(opening)


def test_the_window_is_read_in_the_tenant_zone_not_utc() -> None:
    at = datetime(2026, 6, 10, 6, 30, tzinfo=UTC)  # 09:30 in Helsinki (UTC+3), 07:30 in Stockholm
    assert is_open(DAY, at)
    stockholm = window("09:00", "20:00", "Europe/Stockholm")
    assert not is_open(stockholm, at)
    assert next_opening(stockholm, at) == datetime(2026, 6, 10, 7, 0, tzinfo=UTC)


def test_a_window_crossing_midnight_is_open_on_both_sides() -> None:
    night = window("20:00", "02:00")
    assert is_open(night, local("2026-06-10T23:00"))
    assert is_open(night, local("2026-06-11T01:59"))
    assert not is_open(night, local("2026-06-11T02:00"))
    assert next_opening(night, local("2026-06-11T01:00")) == local("2026-06-11T01:00")
    assert next_opening(night, local("2026-06-11T02:00")) == local("2026-06-11T20:00")
    assert next_opening(night, local("2026-06-11T19:00")) == local("2026-06-11T20:00")


def test_the_start_keeps_its_wall_time_across_daylight_saving() -> None:
    before, after = local("2026-03-28T21:00"), local("2026-10-24T21:00")
    assert next_opening(DAY, before) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 09:00 EEST (UTC+3)
    assert next_opening(DAY, after) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 09:00 EET (UTC+2)


def test_a_start_in_the_spring_forward_gap_opens_when_the_clock_jumps() -> None:
    early = window("03:30", "06:00")  # 03:30 does not happen on 29 March 2026
    opening = next_opening(early, local("2026-03-29T02:10"))
    assert opening == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 04:00 EEST, the jump
    assert is_open(early, opening)
    assert next_opening(early, local("2026-03-30T02:10")) == local("2026-03-30T03:30")  # a normal day


def test_a_start_in_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    early = window("03:30", "06:00")
    opening = next_opening(early, local("2026-10-25T02:00"))
    assert opening == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 03:30 EEST, not 03:30 EET an hour later
    assert is_open(early, local("2026-10-25T03:40", fold=1))  # the second 03:40 is open too (wall clock)


def test_an_empty_window_is_refused_one_crossing_midnight_is_not() -> None:
    with pytest.raises(ValidationError, match="window_empty"):
        window("09:00", "09:00")
    assert window("22:00", "06:00").end == time(6)
