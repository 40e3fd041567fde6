"""Billing periods in arrears (issue 22, item 3).

A schedule bills monthly, quarterly or yearly from its start date. Periods are anchored to the
anchor date's day of month (the start date unless given): boundary k is the anchor plus k x (1, 3
or 12) months, counted from the anchor each time (not from the previous boundary), with the day
clamped to the month's length. So an anchor on the 31st gives boundaries on 30 April, 28/29
February, and back on 31 May. A period runs from one boundary to the day before the next; both
dates are inclusive, as an invoice shows them.

The first period starts on the start date: when the anchor is earlier in the same period (an order
billed on the tenant's calendar months starting mid-month), it is a partial one. An end date
(inclusive, the last day of service) cuts the last period short. A partial period's `days` and
`nominal_days` (the days of the whole period it is part of) give the proration: `proration(period,
"prorate")` is days / nominal_days, `"bill_whole"` is 1.

Billing is in arrears: a period is due once it has ended, i.e. on any day after its last day.
`ended_periods` lists, in order, every period that has ended by a day and was not billed yet (all
of them after downtime).

A period that straddles a tax-rate change is split at the change dates (`split_at_changes`) so
that each part uses the rate in force on its own days; the parts keep the nominal period, so their
prorations add up to the period's.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

Frequency = Literal["monthly", "quarterly", "yearly"]
PartialMode = Literal["prorate", "bill_whole"]
MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "yearly": 12}
DAY = dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus `months` months, the day of month clamped to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


class Schedule(BaseModel):
    """When a sales order bills: every `frequency` from `start` (inclusive) until `end` (inclusive, or open)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frequency: Frequency
    start: dt.date
    end: dt.date | None = None
    anchor: dt.date | None = None  # the boundaries' day; the start date when None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end is not None and self.end < self.start:
            raise ValueError("end: the schedule would end before it starts")
        if self.anchor is not None and self.anchor > self.start:
            raise ValueError("anchor: must not be after the start date")
        return self


class Period(BaseModel):
    """A billing period, `start` to `end` inclusive, inside the whole (nominal) period it is part of."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: dt.date
    end: dt.date
    nominal_start: dt.date
    nominal_end: dt.date

    @model_validator(mode="after")
    def _inside(self) -> Self:
        if not (self.nominal_start <= self.start <= self.end <= self.nominal_end):
            raise ValueError("a period lies inside its nominal period and ends after it starts")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def nominal_days(self) -> int:
        return (self.nominal_end - self.nominal_start).days + 1

    @property
    def partial(self) -> bool:
        return self.days < self.nominal_days

    def has_ended(self, today: dt.date) -> bool:
        """Billing in arrears: due on any day after the period's last day."""
        return self.end < today


def boundary(schedule: Schedule, k: int) -> dt.date:
    """The k-th period boundary: the anchor plus k x the frequency's months (day clamped)."""
    return add_months(schedule.anchor or schedule.start, k * MONTHS[schedule.frequency])


def periods(schedule: Schedule) -> Iterator[Period]:
    """Every period of the schedule, in order (endless when the schedule has no end)."""
    k = 0
    while boundary(schedule, k + 1) <= schedule.start:
        k += 1
    while True:
        nominal_start, nominal_end = boundary(schedule, k), boundary(schedule, k + 1) - DAY
        start = max(nominal_start, schedule.start)
        end = nominal_end if schedule.end is None else min(nominal_end, schedule.end)
        yield Period(start=start, end=end, nominal_start=nominal_start, nominal_end=nominal_end)
        if schedule.end is not None and end >= schedule.end:
            return
        k += 1


def ended_periods(schedule: Schedule, today: dt.date, billed_through: dt.date | None = None) -> list[Period]:
    """Every period that has ended by `today` (its last day before today), in order, leaving out those
    ending on or before `billed_through` (the last day already invoiced): after downtime, all missed ones."""
    due = []
    for period in periods(schedule):
        if not period.has_ended(today):
            break
        if billed_through is None or period.end > billed_through:
            due.append(period)
    return due


def proration(period: Period, mode: PartialMode) -> Fraction:
    """The share of the whole period's price that `period` bills: days / nominal days when prorating a
    partial period, 1 when billing whole (and for a whole period)."""
    if mode == "bill_whole" or not period.partial:
        return Fraction(1)
    return Fraction(period.days, period.nominal_days)


def split_at_changes(period: Period, changes: Iterable[dt.date]) -> list[Period]:
    """`period` cut at every change date inside it (a change date is the first day of a new rate), so
    each part lies wholly under one rate; each part keeps the nominal period."""
    cuts = sorted({day for day in changes if period.start < day <= period.end})
    parts, start = [], period.start
    for cut in [*cuts, period.end + DAY]:
        parts.append(period.model_copy(update={"start": start, "end": cut - DAY}))
        start = cut
    return parts


def split_prorated(period: Period, changes: Iterable[dt.date], mode: PartialMode) -> list[tuple[Period, Fraction]]:
    """`period` split at the change dates, each part with its share of the whole period's price: the
    period's proration divided by days, so the parts' shares add up exactly to the period's."""
    share = proration(period, mode)
    return [(part, share * Fraction(part.days, period.days)) for part in split_at_changes(period, changes)]
