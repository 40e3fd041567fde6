"""Billing periods in arrears (issue 22, item 3): anchored to the start date's day, the 31st on the
last day of shorter months and back, partial periods prorated or billed whole, every missed period
once and in order, and periods split at a tax-rate change."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.invoicing.domain.periods import (
    MONTHS,
    Period,
    Schedule,
    add_months,
    ended_periods,
    periods,
    proration,
    split_at_changes,
    split_prorated,
)

pytestmark = pytest.mark.disable_socket

D = dt.date


def spans(items: list[Period]) -> list[tuple[dt.date, dt.date]]:
    return [(p.start, p.end) for p in items]


def first(schedule: Schedule, n: int) -> list[Period]:
    out = []
    for period in periods(schedule):
        out.append(period)
        if len(out) == n:
            break
    return out


def test_the_31st_bills_on_the_last_day_of_shorter_months_and_returns_to_the_31st() -> None:
    schedule = Schedule(frequency="monthly", start=D(2027, 1, 31))
    assert spans(first(schedule, 5)) == [
        (D(2027, 1, 31), D(2027, 2, 27)),  # the next period starts (and this one is billed) on 28 Feb
        (D(2027, 2, 28), D(2027, 3, 30)),
        (D(2027, 3, 31), D(2027, 4, 29)),
        (D(2027, 4, 30), D(2027, 5, 30)),
        (D(2027, 5, 31), D(2027, 6, 29)),
    ]
    assert add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)


def test_quarterly_and_yearly_anchor_on_the_start_day() -> None:
    assert spans(first(Schedule(frequency="quarterly", start=D(2026, 11, 30)), 2)) == [
        (D(2026, 11, 30), D(2027, 2, 27)),
        (D(2027, 2, 28), D(2027, 5, 29)),
    ]
    assert spans(first(Schedule(frequency="yearly", start=D(2028, 2, 29)), 2)) == [
        (D(2028, 2, 29), D(2029, 2, 27)),
        (D(2029, 2, 28), D(2030, 2, 27)),
    ]


def test_an_end_date_cuts_the_last_period_and_it_is_prorated_or_billed_whole() -> None:
    schedule = Schedule(frequency="monthly", start=D(2026, 1, 15), end=D(2026, 3, 24))
    items = list(periods(schedule))
    assert spans(items) == [
        (D(2026, 1, 15), D(2026, 2, 14)),
        (D(2026, 2, 15), D(2026, 3, 14)),
        (D(2026, 3, 15), D(2026, 3, 24)),
    ]
    last = items[-1]
    assert (last.days, last.nominal_days, last.partial) == (10, 31, True)
    assert proration(last, "prorate") == Fraction(10, 31)
    assert proration(last, "bill_whole") == 1
    assert proration(items[0], "prorate") == 1


def test_a_first_partial_period_when_billing_on_another_anchor() -> None:
    # an order starting mid-month billed on calendar months: 10 of January's 31 days first
    schedule = Schedule(frequency="monthly", start=D(2026, 1, 22), anchor=D(2026, 1, 1))
    head = first(schedule, 2)
    assert spans(head) == [(D(2026, 1, 22), D(2026, 1, 31)), (D(2026, 2, 1), D(2026, 2, 28))]
    assert proration(head[0], "prorate") == Fraction(10, 31)


def test_a_period_ends_before_it_starts_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="end"):
        Schedule(frequency="monthly", start=D(2026, 5, 1), end=D(2026, 4, 30))


def test_billing_in_arrears_makes_every_missed_period_once_in_order() -> None:
    schedule = Schedule(frequency="monthly", start=D(2026, 1, 1))
    # a period is due the day after its last day, not on it
    assert ended_periods(schedule, D(2026, 1, 31)) == []
    assert spans(ended_periods(schedule, D(2026, 2, 1))) == [(D(2026, 1, 1), D(2026, 1, 31))]
    # after downtime (last billed through January), the run on 2 May makes February to April, in order
    missed = ended_periods(schedule, D(2026, 5, 2), billed_through=D(2026, 1, 31))
    assert [p.start.month for p in missed] == [2, 3, 4]
    # and the next run makes none of them again
    assert ended_periods(schedule, D(2026, 5, 3), billed_through=missed[-1].end) == []


def test_a_period_straddling_the_vat_change_is_split_at_it() -> None:
    # Q3 2024 quarterly: the standard rate went from 24 % to 25.5 % on 1 September 2024
    period = first(Schedule(frequency="quarterly", start=D(2024, 7, 1)), 1)[0]
    parts = split_prorated(period, [D(2013, 1, 1), D(2024, 9, 1)], "prorate")
    assert [(p.start, p.end, share) for p, share in parts] == [
        (D(2024, 7, 1), D(2024, 8, 31), Fraction(62, 92)),
        (D(2024, 9, 1), D(2024, 9, 30), Fraction(30, 92)),
    ]
    # a change on the period's first day does not split it
    assert split_at_changes(parts[1][0], [D(2024, 9, 1)]) == [parts[1][0]]


schedules = st.builds(
    Schedule,
    frequency=st.sampled_from(["monthly", "quarterly", "yearly"]),
    start=st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31)),
    end=st.none() | st.dates(min_value=D(2031, 1, 1), max_value=D(2036, 12, 31)),
)


@settings(max_examples=80, deadline=None)
@given(schedules, st.dates(min_value=D(2020, 1, 1), max_value=D(2037, 6, 30)))
def test_periods_tile_the_range_without_gaps_or_overlaps(schedule: Schedule, today: dt.date) -> None:
    items = ended_periods(schedule, today)
    if items:
        assert items[0].start == schedule.start
        assert all(a.end + dt.timedelta(days=1) == b.start for a, b in itertools.pairwise(items))
        assert all(p.end < today for p in items)
        assert schedule.end is None or items[-1].end <= schedule.end
    # the next period (if any) has not ended
    rest = first(schedule, len(items) + 1)[len(items) :]
    assert all(not p.has_ended(today) for p in rest)
    # period k starts k x the frequency's months after the start, on its day or the month's last day
    months = MONTHS[schedule.frequency]
    for k, p in enumerate(items):
        assert p.nominal_start == add_months(schedule.start, k * months)
        assert p.start.day == min(schedule.start.day, calendar.monthrange(p.start.year, p.start.month)[1])
        assert p.days <= p.nominal_days


@settings(max_examples=80, deadline=None)
@given(
    schedules,
    st.lists(st.dates(min_value=D(2020, 1, 1), max_value=D(2037, 1, 1)), max_size=4),
    st.sampled_from(["prorate", "bill_whole"]),
)
def test_split_parts_tile_their_period_and_shares_add_up(schedule: Schedule, changes: list[dt.date], mode: str) -> None:
    for period in first(schedule, 3):
        parts = split_prorated(period, changes, mode)  # type: ignore[arg-type]
        assert parts[0][0].start == period.start and parts[-1][0].end == period.end
        assert all(a.end + dt.timedelta(days=1) == b.start for (a, _), (b, _) in itertools.pairwise(parts))
        assert sum(share for _, share in parts) == proration(period, mode)  # type: ignore[arg-type]
        for part, _ in parts:  # no change date falls strictly inside a part
            assert not any(part.start < day <= part.end for day in changes)
