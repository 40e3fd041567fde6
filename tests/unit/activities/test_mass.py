"""Mass activities: the pure rules (checks, times, owners, ids, schedule expressions, run progress)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.activities.domain.mass import (
    Frequency,
    MassActivity,
    MassActivityCreate,
    MassActivityTemplate,
    MassActivityUpdate,
    MassOwner,
    activity_id,
    activity_times,
    check,
    cron,
    owner_of,
    parse_scheduled_time,
    run_id,
    runs_at,
    schedule_name,
    schedule_plan,
    scheduled_time,
    summarize,
)
from services.activities.domain.models import ActivityKind
from shared.contracts.audience import AudienceMember

NOW = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)
EVENT = {"type": "call", "subject": "Spring campaign call", "start_time": "09:30", "duration_minutes": 30}
TASK = {"type": "task", "subject": "Send the brochure", "due_time": "16:00"}


def body(**overrides: Any) -> MassActivityCreate:
    data: dict[str, Any] = {"target_group_id": "TG1", "activity": EVENT, **overrides}
    return MassActivityCreate.model_validate(data)


def fields(errors: list[Any]) -> list[str]:
    return [e.field for e in errors]


def test_a_now_event_with_member_owners_is_valid() -> None:
    assert check(body(), ActivityKind.event, NOW) == []


def test_an_event_needs_a_start_time_and_a_task_a_due_time() -> None:
    no_start = body(activity={**EVENT, "start_time": None})
    assert fields(check(no_start, ActivityKind.event, NOW)) == ["activity.start_time"]
    no_due = body(activity={**TASK, "due_time": None})
    assert fields(check(no_due, ActivityKind.task, NOW)) == ["activity.due_time"]
    task_with_start = body(activity={**TASK, "start_time": "09:00"})
    assert fields(check(task_with_start, ActivityKind.task, NOW)) == ["activity.start_time"]


def test_owner_mode_user_names_a_user_and_only_that_mode_does() -> None:
    assert fields(check(body(owner={"mode": "user"}), ActivityKind.event, NOW)) == ["owner.user_id"]
    named = body(owner={"mode": "member_owner", "user_id": "u1"})
    assert fields(check(named, ActivityKind.event, NOW)) == ["owner.user_id"]
    assert check(body(owner={"mode": "user", "user_id": "u1"}), ActivityKind.event, NOW) == []


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"mode": "at"}, ["schedule.at"]),
        ({"mode": "at", "at": "2030-03-10T11:00:00Z"}, ["schedule.at"]),  # in the past
        ({"mode": "recurring", "frequency": "daily"}, ["schedule.start"]),
        ({"mode": "recurring", "start": "2030-04-01T08:00:00Z"}, ["schedule.frequency"]),
        (
            {"mode": "recurring", "frequency": "daily", "start": "2030-04-01T08:00:00Z", "end": "2030-03-20T08:00:00Z"},
            ["schedule.end"],
        ),
        ({"mode": "now", "at": "2031-01-01T00:00:00Z"}, ["schedule.at"]),
        ({"mode": "at", "at": "2031-01-01T00:00:00Z", "frequency": "daily"}, ["schedule.frequency"]),
        (
            {"mode": "recurring", "frequency": "monthly", "start": "2030-05-30T08:00:00Z"},
            ["schedule.start"],  # not every month has a 30th
        ),
    ],
)
def test_schedule_fields_fit_the_mode(schedule: dict[str, Any], expected: list[str]) -> None:
    assert fields(check(body(schedule=schedule), ActivityKind.event, NOW)) == expected


def test_a_fixed_day_is_not_for_recurring_runs() -> None:
    recurring = {"mode": "recurring", "frequency": "weekly", "start": "2030-04-01T08:00:00Z"}
    assert fields(
        check(body(activity={**EVENT, "day": "2030-04-02"}, schedule=recurring), ActivityKind.event, NOW)
    ) == ["activity.day"]


def test_unknown_time_zone_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        body(schedule={"mode": "now", "time_zone": "Mars/Olympus"})
    assert error.value.errors()[0]["loc"] == ("schedule", "time_zone")
    with pytest.raises(ValidationError):
        body(activity={**EVENT, "colour": "red"})
    with pytest.raises(ValidationError):
        MassActivityUpdate.model_validate({"active": None})


def test_event_times_are_the_local_time_on_the_run_day() -> None:
    template = MassActivityTemplate.model_validate(EVENT)
    run_at = datetime(2030, 6, 30, 22, 30, tzinfo=UTC)  # already 1 July in Helsinki (UTC+3)
    times = activity_times(template, ActivityKind.event, run_at, "Europe/Helsinki")
    assert times == {"start": datetime(2030, 7, 1, 6, 30, tzinfo=UTC), "end": datetime(2030, 7, 1, 7, 0, tzinfo=UTC)}


def test_task_due_on_a_fixed_day_or_days_after_the_run() -> None:
    run_at = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
    later = MassActivityTemplate.model_validate({**TASK, "days_after": 2})
    assert activity_times(later, ActivityKind.task, run_at, "UTC") == {"due": datetime(2030, 1, 17, 16, tzinfo=UTC)}
    fixed = MassActivityTemplate.model_validate({**TASK, "day": "2030-02-01", "days_after": 2})
    assert activity_times(fixed, ActivityKind.task, run_at, "UTC") == {"due": datetime(2030, 2, 1, 16, tzinfo=UTC)}


def test_owner_is_the_named_user_or_the_member_owner_then_account_manager_then_creator() -> None:
    member = AudienceMember(contact_id="C1", owner_id="owner", account_manager_id="manager")
    assert owner_of(MassOwner(mode="user", user_id="named"), member, "creator") == "named"
    assert owner_of(MassOwner(), member, "creator") == "owner"
    assert owner_of(MassOwner(), AudienceMember(contact_id="C1", account_manager_id="manager"), "creator") == "manager"
    assert owner_of(MassOwner(), AudienceMember(contact_id="C1"), "creator") == "creator"
    group_owned = AudienceMember(contact_id="C1", owner_id="G1", owner_type="group", account_manager_id="manager")
    assert owner_of(MassOwner(), group_owned, "creator") == "manager"  # a group is not a responsible user
    assert owner_of(MassOwner(), group_owned.model_copy(update={"account_manager_id": None}), "creator") == "creator"


def test_ids_are_derived_so_a_retry_makes_the_same_ones() -> None:
    first = run_id("M1", datetime(2030, 1, 1, 8, 0, 0, 400, tzinfo=UTC))
    assert first == run_id("M1", parse_scheduled_time("2030-01-01T08:00:00Z"))
    assert first != run_id("M1", datetime(2030, 1, 2, 8, tzinfo=UTC))
    assert first != run_id("M2", datetime(2030, 1, 1, 8, tzinfo=UTC))
    assert activity_id(first, "C1") == activity_id(first, "C1") != activity_id(first, "C2")
    helsinki = datetime(2030, 1, 1, 10, 0, 30, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert scheduled_time(helsinki) == "2030-01-01T08:00:30Z"


def test_schedule_expressions() -> None:
    at = body(schedule={"mode": "at", "at": "2030-04-01T09:00:00+03:00", "time_zone": "Europe/Helsinki"})
    plan = schedule_plan(at.schedule, NOW)
    assert plan is not None
    assert (plan.expression, plan.time_zone, plan.one_time) == ("at(2030-04-01T09:00:00)", "Europe/Helsinki", True)
    assert schedule_plan(at.schedule, datetime(2030, 5, 1, tzinfo=UTC)) is None  # nothing left to fire

    start = datetime(2030, 4, 2, 6, 15, tzinfo=UTC)  # a Tuesday, 09:15 in Helsinki
    local = start.astimezone(ZoneInfo("Europe/Helsinki"))
    assert cron(Frequency.daily, local) == "cron(15 9 * * ? *)"
    assert cron(Frequency.weekly, local) == "cron(15 9 ? * TUE *)"
    assert cron(Frequency.monthly, local) == "cron(15 9 2 * ? *)"

    recurring = body(
        schedule={
            "mode": "recurring",
            "frequency": "daily",
            "start": "2030-04-02T06:15:00Z",
            "end": "2030-05-01T00:00:00Z",
            "time_zone": "Europe/Helsinki",
        }
    ).schedule
    plan = schedule_plan(recurring, NOW)
    assert plan is not None
    assert plan.start_date == datetime(2030, 4, 2, 6, 14, tzinfo=UTC)  # a minute early keeps the first run
    assert plan.end_date == datetime(2030, 5, 1, tzinfo=UTC)
    assert schedule_plan(recurring, datetime(2030, 4, 10, tzinfo=UTC)).start_date is None  # type: ignore[union-attr]
    assert schedule_plan(recurring, datetime(2030, 6, 1, tzinfo=UTC)) is None  # ended
    assert schedule_name("M1") == "mass-M1"


def test_passive_ended_and_unscheduled_mass_activities_do_not_run() -> None:
    base = {
        "id": "M1",
        "name": "x",
        "target_group_id": "TG1",
        "activity": EVENT,
        "owner": {"mode": "member_owner"},
        "kind": "event",
        "created_by": "admin",
        "created_at": NOW,
        "updated_at": NOW,
    }
    schedule = {
        "mode": "recurring",
        "frequency": "daily",
        "start": "2030-04-01T08:00:00Z",
        "end": "2030-04-30T08:00:00Z",
    }
    mass = MassActivity.model_validate({**base, "schedule": schedule})
    assert runs_at(mass, datetime(2030, 4, 5, 8, tzinfo=UTC))
    assert not runs_at(mass, datetime(2030, 5, 1, 8, tzinfo=UTC))
    assert not runs_at(mass.model_copy(update={"active": False}), datetime(2030, 4, 5, 8, tzinfo=UTC))
    assert not runs_at(MassActivity.model_validate({**base, "schedule": {"mode": "now"}}), NOW)


def test_a_run_is_done_when_every_page_up_to_the_last_was_seen() -> None:
    run = {
        "id": "R1",
        "mass_activity_id": "M1",
        "target_group_id": "TG1",
        "run_at": "2030-01-01T08:00:00Z",
        "requested_at": "2030-01-01T08:00:01Z",
    }
    partial = summarize(run, [{"page": 2, "activities": 3, "last": True, "total_members": 503}])
    assert (partial.pages_seen, partial.last_page, partial.done, partial.activities) == (1, 2, False, 3)
    done = summarize(
        run,
        [
            {"page": 1, "activities": 500, "last": False},
            {"page": 2, "activities": 3, "last": True, "total_members": 503},
        ],
    )
    assert (done.pages_seen, done.done, done.activities, done.total_members) == (2, True, 503, 503)
    failed = summarize(run, [{"page": 1, "activities": 0, "last": True, "total_members": 0, "error": "No group"}])
    assert failed.done and failed.error == "No group"
    assert time(9, 30) == MassActivityTemplate.model_validate(EVENT).start_time
