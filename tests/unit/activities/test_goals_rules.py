"""Pure rules of points, goals and sales targets: ISO weeks, quarters, months, rule precedence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.activities.domain.goals import (
    MetricGoal,
    Period,
    PeriodKind,
    PointRule,
    PointRules,
    SalesTarget,
    SalesTargetsSet,
    WeekActual,
    YearGoals,
    actuals_by_week,
    check_range,
    check_rules,
    check_targets,
    day_start,
    local_day,
    period_of,
    periods_covering,
    points_for,
    target_rows,
    total,
    week_report,
    weekly_goal,
)
from shared.errors import ValidationFailed

WEEK, MONTH = PeriodKind.week, PeriodKind.month
HELSINKI = ZoneInfo("Europe/Helsinki")


def week(year: int, number: int) -> Period:
    return Period(WEEK, year, number)


# ----------------------------------------------------------------------------- periods


def test_a_day_belongs_to_its_iso_week_which_may_be_in_another_year() -> None:
    assert period_of(WEEK, date(2026, 1, 1)) == week(2026, 1)  # a Thursday
    assert period_of(WEEK, date(2027, 1, 1)) == week(2026, 53)  # a Friday: 2026 has 53 weeks
    assert period_of(WEEK, date(2024, 12, 30)) == week(2025, 1)  # a Monday
    assert week(2026, 53).label == "2026-W53"
    assert (week(2026, 1).start, week(2026, 1).end) == (date(2025, 12, 29), date(2026, 1, 4))


def test_the_week_after_the_last_of_a_year_is_week_one_of_the_next() -> None:
    assert week(2026, 53).next() == week(2027, 1)
    assert week(2025, 52).next() == week(2026, 1)


def test_a_week_is_in_the_quarter_of_its_thursday() -> None:
    assert week(2026, 13).quarter == 1  # Mon 23 Mar .. Sun 29 Mar
    assert week(2026, 14).quarter == 2  # Mon 30 Mar, Thursday 2 Apr
    assert week(2025, 27).quarter == 3  # Mon 30 Jun, Thursday 3 Jul
    assert week(2025, 1).quarter == 1  # starts Mon 30 Dec 2024


def test_months_and_their_bounds() -> None:
    feb = period_of(MONTH, date(2028, 2, 10))
    assert (feb.label, feb.start, feb.end) == ("2028-02", date(2028, 2, 1), date(2028, 2, 29))
    assert Period(MONTH, 2026, 12).next() == Period(MONTH, 2027, 1)
    assert Period(MONTH, 2026, 11).quarter == 4


def test_periods_covering_include_partial_ones_at_both_ends() -> None:
    weeks = periods_covering(WEEK, date(2026, 1, 7), date(2026, 1, 19))
    assert [w.label for w in weeks] == ["2026-W02", "2026-W03", "2026-W04"]
    months = periods_covering(MONTH, date(2026, 11, 30), date(2027, 1, 1))
    assert [m.label for m in months] == ["2026-11", "2026-12", "2027-01"]
    assert periods_covering(WEEK, date(2026, 1, 7), date(2026, 1, 7)) == [week(2026, 2)]
    assert periods_covering(WEEK, date(2026, 1, 8), date(2026, 1, 7)) == []


def test_a_report_range_is_ordered_and_at_most_about_two_years() -> None:
    check_range(date(2026, 1, 1), date(2027, 12, 31))
    with pytest.raises(ValidationFailed) as backwards:
        check_range(date(2026, 1, 2), date(2026, 1, 1))
    assert backwards.value.errors[0].field == "to"
    with pytest.raises(ValidationFailed) as too_long:
        check_range(date(2026, 1, 1), date(2029, 1, 1))
    assert too_long.value.errors[0].field == "to"


# ----------------------------------------------------------------------------- points


def test_a_type_and_category_rule_wins_over_the_types_own_rule() -> None:
    rules = [
        PointRule(type="call", points=1),
        PointRule(type="call", category="lead", points=5),
        PointRule(type="meeting", category="lead", points=7),
    ]
    assert points_for(rules, "call", None) == 1
    assert points_for(rules, "call", "lead") == 5
    assert points_for(rules, "call", "customer_visit") == 1  # falls back to the type's rule
    assert points_for(rules, "meeting", None) == 0  # only a category rule: no points without it
    assert points_for(rules, "task", "lead") == 0


def test_rules_are_unique_per_type_and_category_and_name_existing_codes() -> None:
    with pytest.raises(ValidationError):
        PointRules(rules=[PointRule(type="call", points=1), PointRule(type="call", points=2)])
    with pytest.raises(ValidationError):
        PointRule(type="call", points=-1)
    with pytest.raises(ValidationFailed) as unknown:
        check_rules(
            [PointRule(type="call", points=1), PointRule(type="nope", category="gone", points=1)],
            {"call"},
            {"lead"},
        )
    assert [e.field for e in unknown.value.errors] == ["rules.1.type", "rules.1.category"]


# ----------------------------------------------------------------------------- goals


def test_a_quarters_goal_overrides_the_years_for_its_weeks() -> None:
    goal = MetricGoal.model_validate({"weekly": 10, "quarters": {"2": 15}})
    assert weekly_goal(goal, week(2026, 13)) == 10
    assert weekly_goal(goal, week(2026, 14)) == 15
    assert weekly_goal(goal, week(2026, 27)) == 10
    only_q3 = MetricGoal.model_validate({"quarters": {"3": 4}})
    assert weekly_goal(only_q3, week(2026, 1)) is None
    assert weekly_goal(only_q3, week(2026, 30)) == 4
    assert weekly_goal(None, week(2026, 1)) is None


def test_a_quarter_is_one_to_four() -> None:
    with pytest.raises(ValidationError):
        MetricGoal.model_validate({"quarters": {"5": 1}})
    with pytest.raises(ValidationError):
        MetricGoal.model_validate({"weekly": -1})


def test_totals_sum_what_is_set_and_stay_unset_when_nothing_is() -> None:
    assert total([None, None]) is None
    assert total([None, 3, 4]) == 7
    assert total([0]) == 0


def test_actuals_fall_in_the_iso_week_of_completion() -> None:
    actuals = actuals_by_week(
        [
            (datetime(2026, 1, 4, 23, 59, tzinfo=UTC), 3),  # Sunday of W01
            (datetime(2026, 1, 5, 0, 0, tzinfo=UTC), 2),  # Monday of W02
            (datetime(2026, 1, 11, 12, 0, tzinfo=UTC), 5),
        ],
        UTC,
    )
    assert actuals[week(2026, 1)] == WeekActual(count=1, points=3)
    assert actuals[week(2026, 2)] == WeekActual(count=2, points=7)


def test_actuals_fall_in_the_local_iso_week_of_the_tenants_zone() -> None:
    sunday_late = datetime(2026, 1, 11, 21, 30, tzinfo=UTC)  # Sunday 23:30 in Helsinki (UTC+2): W02 in both
    monday_early = datetime(2026, 1, 11, 23, 0, tzinfo=UTC)  # Monday 01:00 in Helsinki: W03 there, W02 in UTC
    completions = [(sunday_late, 1), (monday_early, 10)]
    assert actuals_by_week(completions, HELSINKI) == {
        week(2026, 2): WeekActual(count=1, points=1),
        week(2026, 3): WeekActual(count=1, points=10),
    }
    assert actuals_by_week(completions, UTC) == {week(2026, 2): WeekActual(count=2, points=11)}
    summer_monday = datetime(2026, 7, 5, 21, 0, tzinfo=UTC)  # Monday 00:00 in Helsinki summer time (UTC+3)
    assert list(actuals_by_week([(summer_monday, 1)], HELSINKI)) == [period_of(WEEK, date(2026, 7, 6))]


def test_a_local_day_starts_at_local_midnight_given_in_utc() -> None:
    assert day_start(date(2026, 1, 12), HELSINKI) == datetime(2026, 1, 11, 22, 0, tzinfo=UTC)
    assert day_start(date(2026, 7, 6), HELSINKI) == datetime(2026, 7, 5, 21, 0, tzinfo=UTC)
    assert day_start(date(2026, 1, 12), UTC) == datetime(2026, 1, 12, tzinfo=UTC)
    assert local_day(datetime(2026, 1, 11, 22, 0, tzinfo=UTC), HELSINKI) == date(2026, 1, 12)
    assert local_day(datetime(2026, 1, 11, 21, 59, tzinfo=UTC), HELSINKI) == date(2026, 1, 11)
    # A zone whose DST starts at midnight (Santiago, 2026-09-06): the day starts when the clocks jump.
    santiago = ZoneInfo("America/Santiago")
    start = day_start(date(2026, 9, 6), santiago)
    assert local_day(start, santiago) == date(2026, 9, 6)


def _goals(user: str, year: int, count: MetricGoal | None, points: MetricGoal | None = None) -> YearGoals:
    return YearGoals(user_id=user, year=year, count=count, points=points, updated_by="m", updated_at=datetime.now(UTC))


def test_a_group_report_sums_goals_by_each_weeks_own_iso_year_and_actuals() -> None:
    weeks = periods_covering(WEEK, date(2026, 12, 28), date(2027, 1, 4))  # 2026-W53, 2027-W01
    anna = {2026: _goals("anna", 2026, MetricGoal(weekly=5), MetricGoal(weekly=50)), 2027: _goals("anna", 2027, None)}
    ben = {2027: _goals("ben", 2027, MetricGoal(weekly=2, quarters={1: 3}))}
    actual = {week(2026, 53): WeekActual(count=4, points=40)}
    rows = week_report(weeks, [anna, ben], [actual, {week(2027, 1): WeekActual(count=1, points=2)}])
    assert [r.week for r in rows] == ["2026-W53", "2027-W01"]
    assert (rows[0].count.goal, rows[0].count.actual, rows[0].points.goal, rows[0].points.actual) == (5, 4, 50, 40)
    assert (rows[1].count.goal, rows[1].count.actual, rows[1].points.goal, rows[1].points.actual) == (3, 1, None, 2)


# ----------------------------------------------------------------------------- sales targets


def test_targets_only_for_categories_that_carry_a_sales_target_one_each() -> None:
    targets = [
        SalesTarget(category="customer_visit", period=WEEK, count=3),
        SalesTarget(category="lead", period=MONTH, count=1),
    ]
    check_targets(targets[:1], {"customer_visit"})
    with pytest.raises(ValidationFailed) as refused:
        check_targets(targets, {"customer_visit"})
    assert [e.field for e in refused.value.errors] == ["targets.1.category"]
    with pytest.raises(ValidationError):
        SalesTargetsSet(targets=[targets[0], SalesTarget(category="customer_visit", period=MONTH, count=9)])


def test_target_rows_count_the_moments_of_each_period() -> None:
    moments = [
        datetime(2026, 3, 31, 23, 0, tzinfo=UTC),
        datetime(2026, 4, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 4, 30, 8, 0, tzinfo=UTC),
    ]
    months = target_rows(MONTH, date(2026, 3, 15), date(2026, 4, 2), 2, moments, UTC)
    assert [(r.period, r.target, r.actual) for r in months] == [("2026-03", 2, 1), ("2026-04", 2, 2)]
    weeks = target_rows(WEEK, date(2026, 3, 30), date(2026, 4, 5), None, moments, UTC)
    assert [(r.period, r.start, r.end, r.actual) for r in weeks] == [
        ("2026-W14", date(2026, 3, 30), date(2026, 4, 5), 2)
    ]


def test_target_periods_are_the_tenants_local_months() -> None:
    moments = [datetime(2026, 3, 31, 21, 30, tzinfo=UTC)]  # 00:30 on April 1st in Helsinki (UTC+3)
    local = target_rows(MONTH, date(2026, 3, 1), date(2026, 4, 30), None, moments, HELSINKI)
    assert [(r.period, r.actual) for r in local] == [("2026-03", 0), ("2026-04", 1)]
    utc = target_rows(MONTH, date(2026, 3, 1), date(2026, 4, 30), None, moments, UTC)
    assert [(r.period, r.actual) for r in utc] == [("2026-03", 1), ("2026-04", 0)]
