"""Activity points, activity goals and sales targets: models and pure rules (no I/O).

Points [002 Aktiviteettipisteet]: tenant rules give points per activity type, optionally per
(type, CRM category); a (type, category) rule wins over the type's own rule. The responsible
user earns them when the activity is completed.

Goals [002 Aktiviteettitavoitteiden asettaminen]: per-user weekly goals for the count of
completed activities or for their points, set for a whole (ISO) year or per quarter; a
quarter's value overrides the year's for the weeks of that quarter.

Sales targets [001]: weekly or monthly count targets per seller per CRM category that carries a
sales target; the actual is the seller's activities in that category whose start (events) or
due date (tasks) falls in the period.

Periods are ISO weeks (Monday to Sunday) and calendar months of the tenant's time zone (its
`time_zone` setting, UTC by default): a week starts at local midnight on Monday. Stored times are
UTC; the rules here take the zone and place each moment on its local day. An ISO week belongs to
the quarter (and the ISO year) of its Thursday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.errors import FieldError, ValidationFailed
from shared.types import INPUT, OUTPUT, Code, OptCode, duplicate

from .models import Activity

MAX_POINTS = 10_000
MAX_GOAL = 1_000_000
MAX_REPORT_DAYS = 2 * 366 + 1
Points = Annotated[int, Field(ge=0, le=MAX_POINTS)]
GoalValue = Annotated[int, Field(ge=0, le=MAX_GOAL)]


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------


class PeriodKind(StrEnum):
    week = "week"
    month = "month"


@dataclass(frozen=True, order=True)
class Period:
    """An ISO week or a calendar month: [start, end] as dates, both inclusive."""

    kind: PeriodKind
    year: int
    number: int  # ISO week number or month number

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}" if self.kind == PeriodKind.week else f"{self.year}-{self.number:02d}"

    @property
    def start(self) -> date:
        if self.kind == PeriodKind.week:
            return date.fromisocalendar(self.year, self.number, 1)
        return date(self.year, self.number, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    @property
    def quarter(self) -> int:
        """The quarter of a week is that of its Thursday (which also fixes its ISO year)."""
        anchor = self.start + timedelta(days=3) if self.kind == PeriodKind.week else self.start
        return (anchor.month - 1) // 3 + 1

    def next(self) -> Period:
        if self.kind == PeriodKind.week:
            following = self.start + timedelta(days=7)
            year, week, _ = following.isocalendar()
            return Period(self.kind, year, week)
        if self.number == 12:
            return Period(self.kind, self.year + 1, 1)
        return Period(self.kind, self.year, self.number + 1)


def period_of(kind: PeriodKind, day: date) -> Period:
    if kind == PeriodKind.week:
        year, week, _ = day.isocalendar()
        return Period(kind, year, week)
    return Period(kind, day.year, day.month)


def periods_covering(kind: PeriodKind, first: date, last: date) -> list[Period]:
    """The periods that hold any day from `first` to `last` (inclusive), in order."""
    if last < first:
        return []
    periods = [period_of(kind, first)]
    while periods[-1].end < last:
        periods.append(periods[-1].next())
    return periods


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first moment of a local day, in UTC (local midnight; past a DST gap at midnight, the moment after it)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The local day a moment falls on."""
    return moment.astimezone(zone).date()


def check_range(first: date, last: date) -> None:
    """A report covers `from` to `to` inclusive, at most about two years."""
    if last < first:
        raise ValidationFailed.on("to", "`to` may not be before `from`.", "invalid_range")
    if (last - first).days > MAX_REPORT_DAYS:
        raise ValidationFailed.on("to", f"A report covers at most {MAX_REPORT_DAYS} days.", "range_too_long")


# ---------------------------------------------------------------------------------------------
# Point rules
# ---------------------------------------------------------------------------------------------


class PointRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Code = Field(description="The activity type")
    category: OptCode = Field(None, description="A CRM category: this rule wins over the type's own rule")
    points: Points


class PointRules(BaseModel):
    """A tenant's point rules (PUT replaces them all)."""

    model_config = INPUT

    rules: Annotated[list[PointRule], Field(max_length=500)] = Field(
        default_factory=list, description="At most one rule per (type, category)"
    )

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[PointRule]) -> list[PointRule]:
        seen: set[tuple[str, str | None]] = set()
        for rule in rules:
            key = (rule.type, rule.category)
            if key in seen:
                raise duplicate(f"two rules for type {rule.type!r} and category {rule.category!r}")
            seen.add(key)
        return rules


def points_for(rules: list[PointRule], activity_type: str, category: str | None) -> int:
    """The points a completed activity earns: its (type, category) rule, else its type's rule, else 0."""
    by_key = {(r.type, r.category): r.points for r in rules}
    if category is not None and (activity_type, category) in by_key:
        return by_key[(activity_type, category)]
    return by_key.get((activity_type, None), 0)


def check_rules(rules: list[PointRule], types: set[str], categories: set[str]) -> None:
    """Every rule names an activity type and (if any) a CRM category of the tenant."""
    errors: list[FieldError] = []
    for index, rule in enumerate(rules):
        if rule.type not in types:
            errors.append(
                FieldError(field=f"rules.{index}.type", message=f"No activity type {rule.type}.", code="not_found")
            )
        if rule.category is not None and rule.category not in categories:
            errors.append(
                FieldError(
                    field=f"rules.{index}.category", message=f"No CRM category {rule.category}.", code="not_found"
                )
            )
    if errors:
        raise ValidationFailed("A point rule names something that does not exist.", errors)


# ---------------------------------------------------------------------------------------------
# Goals
# ---------------------------------------------------------------------------------------------

Quarter = Annotated[int, Field(ge=1, le=4)]


class MetricGoal(BaseModel):
    """Weekly goal of one metric for a year; `quarters` override it for their weeks."""

    model_config = INPUT

    weekly: GoalValue | None = Field(None, description="The weekly goal for every week of the year")
    quarters: dict[Quarter, GoalValue] = Field(
        default_factory=dict,
        description='Weekly goals by quarter ({"1": 10, "3": 12}): they override `weekly`',
        json_schema_extra={"propertyNames": {"enum": ["1", "2", "3", "4"]}},
    )


class GoalsSet(BaseModel):
    """A user's weekly goals for one ISO year, for the count of completed activities and/or their points."""

    model_config = INPUT

    count: MetricGoal | None = None
    points: MetricGoal | None = None


class YearGoals(BaseModel):
    model_config = OUTPUT

    user_id: str
    year: int
    count: MetricGoal | None = None
    points: MetricGoal | None = None
    updated_by: str
    updated_at: datetime
    version: int = 1


def weekly_goal(goal: MetricGoal | None, week: Period) -> int | None:
    """The goal of one week: its quarter's value if set, else the year's, else none."""
    if goal is None:
        return None
    return goal.quarters.get(week.quarter, goal.weekly)


def total(values: list[int | None]) -> int | None:
    """The sum of the values that are set; None when none is."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


class GoalActual(BaseModel):
    goal: int | None = None
    actual: int = 0


class WeekReport(BaseModel):
    week: str = Field(description="ISO week, e.g. 2026-W05")
    start: date
    end: date
    count: GoalActual = Field(description="Completed activities (by completion time) and the count goal")
    points: GoalActual = Field(description="Their points and the points goal")


class GoalReport(BaseModel):
    user_id: str | None = None
    group_id: str | None = None
    member_ids: list[str] = Field(default_factory=list, description="Whose goals and actuals are summed")
    weeks: list[WeekReport]
    total_count: GoalActual
    total_points: GoalActual


@dataclass
class WeekActual:
    count: int = 0
    points: int = 0


def actuals_by_week(completions: list[tuple[datetime, int]], zone: tzinfo) -> dict[Period, WeekActual]:
    """Count and points of completed activities per (local) ISO week of their completion."""
    result: dict[Period, WeekActual] = {}
    for completed_at, points in completions:
        week = period_of(PeriodKind.week, local_day(completed_at, zone))
        actual = result.setdefault(week, WeekActual())
        actual.count += 1
        actual.points += points
    return result


def week_report(
    weeks: list[Period], goals: list[dict[int, YearGoals]], actuals: list[dict[Period, WeekActual]]
) -> list[WeekReport]:
    """Goal vs actual per week, summed over the people whose goals (by ISO year) and actuals are given."""
    rows = []
    for week in weeks:
        years = [g.get(week.year) for g in goals]
        count_goal = total([weekly_goal(y.count if y else None, week) for y in years])
        points_goal = total([weekly_goal(y.points if y else None, week) for y in years])
        done = [a.get(week, WeekActual()) for a in actuals]
        rows.append(
            WeekReport(
                week=week.label,
                start=week.start,
                end=week.end,
                count=GoalActual(goal=count_goal, actual=sum(d.count for d in done)),
                points=GoalActual(goal=points_goal, actual=sum(d.points for d in done)),
            )
        )
    return rows


def sum_rows(rows: list[GoalActual]) -> GoalActual:
    return GoalActual(goal=total([r.goal for r in rows]), actual=sum(r.actual for r in rows))


# ---------------------------------------------------------------------------------------------
# Sales targets
# ---------------------------------------------------------------------------------------------


class SalesTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Code = Field(description="A CRM category that carries a sales target")
    period: PeriodKind = Field(description="week (ISO week) or month")
    count: GoalValue = Field(description="How many activities of the category per period")


class SalesTargetsSet(BaseModel):
    """A seller's targets (PUT replaces them all); one per category."""

    model_config = INPUT

    targets: Annotated[list[SalesTarget], Field(max_length=200)] = Field(
        default_factory=list, description="At most one target per category"
    )

    @field_validator("targets")
    @classmethod
    def _unique(cls, targets: list[SalesTarget]) -> list[SalesTarget]:
        seen: set[str] = set()
        for target in targets:
            if target.category in seen:
                raise duplicate(f"category {target.category!r} has two targets")
            seen.add(target.category)
        return targets


class SellerTargets(BaseModel):
    model_config = OUTPUT

    user_id: str
    targets: list[SalesTarget] = Field(default_factory=list)
    updated_by: str | None = None
    updated_at: datetime | None = None
    version: int = 0


def check_targets(targets: list[SalesTarget], sales_categories: set[str]) -> None:
    """Targets only for categories that carry a sales target (422 naming `targets.N.category`)."""
    errors = [
        FieldError(
            field=f"targets.{index}.category",
            message=f"The CRM category {target.category} does not exist or carries no sales target.",
            code="no_sales_target",
        )
        for index, target in enumerate(targets)
        if target.category not in sales_categories
    ]
    if errors:
        raise ValidationFailed("A target names a category without a sales target.", errors)


class PeriodActual(BaseModel):
    period: str = Field(description="2026-W05 or 2026-03")
    start: date
    end: date
    target: int | None = None
    actual: int = 0


class CategoryTargetReport(BaseModel):
    category: str
    label: str
    period: PeriodKind
    target: int | None = Field(None, description="The seller's target per period (null: none set)")
    periods: list[PeriodActual]


class SalesTargetReport(BaseModel):
    user_id: str
    categories: list[CategoryTargetReport]


def target_rows(
    kind: PeriodKind, first: date, last: date, target: int | None, moments: list[datetime], zone: tzinfo
) -> list[PeriodActual]:
    """Per (local) period from `first` to `last`: the target and how many of `moments` fall in it."""
    counts: dict[Period, int] = {}
    for moment in moments:
        period = period_of(kind, local_day(moment, zone))
        counts[period] = counts.get(period, 0) + 1
    return [
        PeriodActual(period=p.label, start=p.start, end=p.end, target=target, actual=counts.get(p, 0))
        for p in periods_covering(kind, first, last)
    ]


# ---------------------------------------------------------------------------------------------
# Seller's view
# ---------------------------------------------------------------------------------------------


class SellerCard(BaseModel):
    category: str
    label: str
    crm_kind: str
    crm_type: str
    sales_target: bool
    count: int = Field(description="How many of the seller's activities are in this category")
    items: list[Activity] = Field(description="The most recent ones (by start or due time, newest first)")


class SellerView(BaseModel):
    user_id: str
    cards: list[SellerCard]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
