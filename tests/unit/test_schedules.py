"""Shared Scheduler helpers: plans, expressions, recurrences and their checks (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from shared import scheduler, settings
from shared.scheduler import (
    ScheduleTarget,
    ScheduleUnavailable,
    create_record_schedule,
    delete_record_schedule,
    delete_schedule,
    on_firing,
    save_record_schedule,
    sync_schedule,
    target_input,
)
from shared.schedules import (
    SCHEDULED_TIME_PLACEHOLDER,
    Firing,
    RecordSchedule,
    Repeat,
    at_plan,
    cron_problem,
    parse_scheduled_time,
    rate_problem,
    recurring_plan,
    schedule_name,
    scheduled_time,
)
from shared.subscriptions import Job

NOW = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)


def fields(repeat: dict[str, Any]) -> list[str]:
    return [e.field for e in Repeat.model_validate(repeat).problems(NOW)]


def test_at_and_recurring_plans() -> None:
    plan = at_plan(datetime(2030, 4, 1, 6, tzinfo=UTC), "Europe/Helsinki", NOW)
    assert plan is not None and plan.expression == "at(2030-04-01T09:00:00)" and plan.one_time
    assert at_plan(NOW, "UTC", NOW) is None
    start = datetime(2030, 4, 1, 6, tzinfo=UTC)
    plan = recurring_plan("rate(1 day)", "UTC", NOW, start)
    assert plan is not None and plan.start_date == datetime(2030, 4, 1, 5, 59, tzinfo=UTC)
    assert recurring_plan("rate(1 day)", "UTC", NOW, datetime(2030, 1, 1, tzinfo=UTC)).start_date is None  # type: ignore[union-attr]
    assert recurring_plan("rate(1 day)", "UTC", NOW, None, NOW) is None  # ended


@pytest.mark.parametrize(
    ("expression", "ok"),
    [
        ("rate(1 day)", True),
        ("rate(30 minutes)", True),
        ("rate(1 days)", False),
        ("rate(2 hour)", False),
        ("rate(0 minutes)", False),
        ("rate(1 week)", False),
        ("every day", False),
    ],
)
def test_rate_expressions(expression: str, ok: bool) -> None:
    assert (rate_problem(expression) is None) == ok


@pytest.mark.parametrize(
    ("expression", "ok"),
    [
        ("cron(0 9 ? * MON-FRI *)", True),
        ("cron(15 10 1 * ? *)", True),
        ("cron(0 9 * * * *)", False),  # day-of-month and day-of-week both set
        ("cron(0 9 * *)", False),
        ("cron(0 9 ? * MON; *)", False),
        ("0 9 ? * MON *", False),
    ],
)
def test_cron_expressions(expression: str, ok: bool) -> None:
    assert (cron_problem(expression) is None) == ok


def test_repeat_checks_name_the_field() -> None:
    assert fields({"mode": "rate"}) == ["schedule.expression"]
    assert fields({"mode": "rate", "expression": "rate(2 day)"}) == ["schedule.expression"]
    assert fields({"mode": "cron", "expression": "cron(0 9 ? * MON *)"}) == []
    assert fields({"mode": "daily"}) == ["schedule.start"]
    assert fields({"mode": "daily", "start": "2030-04-01T08:00:00Z", "expression": "rate(1 day)"}) == [
        "schedule.expression"
    ]
    assert fields({"mode": "monthly", "start": "2030-04-30T08:00:00Z"}) == ["schedule.start"]
    assert fields({"mode": "rate", "expression": "rate(1 day)", "end": "2030-01-01T00:00:00Z"}) == ["schedule.end"]
    with pytest.raises(ValidationError):
        Repeat.model_validate({"mode": "rate", "expression": "rate(1 day)", "time_zone": "Mars/Olympus"})


def test_repeat_plans() -> None:
    weekly = Repeat.model_validate({"mode": "weekly", "start": "2030-04-02T06:15:30Z", "time_zone": "Europe/Helsinki"})
    plan = weekly.plan(NOW)
    assert plan is not None
    assert (plan.expression, plan.time_zone) == ("cron(15 9 ? * TUE *)", "Europe/Helsinki")
    assert plan.start_date == datetime(2030, 4, 2, 6, 14, tzinfo=UTC)  # seconds dropped, a minute early
    rate = Repeat.model_validate({"mode": "rate", "expression": "rate(1 day)"}).plan(NOW)
    assert rate is not None and rate.expression == "rate(1 day)" and rate.start_date is None
    assert weekly.fires_at(datetime(2030, 4, 2, 6, 15, tzinfo=UTC))
    assert not weekly.fires_at(datetime(2030, 4, 1, 6, 15, tzinfo=UTC))


def test_names_times_and_inputs() -> None:
    assert schedule_name("automation", "01JAAAAAAAAAAAAAAAAAAAAAAA") == "automation-01JAAAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(ValueError, match="schedule name"):  # never truncated into another record's name
        schedule_name("automation", "01JAAAAAAAAAAAAAAAAAAAAAAA" * 3)
    moment = datetime(2030, 1, 1, 8, 0, 30, 400, tzinfo=UTC)
    assert scheduled_time(moment) == "2030-01-01T08:00:30Z"
    assert parse_scheduled_time("2030-01-01T08:00:30Z") == moment.replace(microsecond=0)
    assert json.loads(target_input({"job": "x", "id": "1"})) == {
        "job": "x",
        "id": "1",
        "scheduled_time": SCHEDULED_TIME_PLACEHOLDER,
    }


class _Scheduler:
    """A stand-in scheduler client: records calls, raises the errors it is told to."""

    def __init__(self, **errors: str) -> None:
        self.errors = errors
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _call(self, name: str, **params: Any) -> None:
        self.calls.append((name, params))
        if name in self.errors:
            raise ClientError({"Error": {"Code": self.errors[name], "Message": "x"}}, name)

    def create_schedule(self, **params: Any) -> None:
        self._call("create_schedule", **params)

    def update_schedule(self, **params: Any) -> None:
        self._call("update_schedule", **params)

    def delete_schedule(self, **params: Any) -> None:
        self._call("delete_schedule", **params)


TARGET = ScheduleTarget("arn:aws:sqs:eu-north-1:1:jobs", "arn:aws:iam::1:role/r", "default", target_input({"job": "x"}))


def _use(monkeypatch: pytest.MonkeyPatch, client: _Scheduler) -> _Scheduler:
    monkeypatch.setattr(scheduler, "scheduler_client", lambda: client)
    return client


def test_sync_creates_or_converges_on_the_existing_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = recurring_plan("rate(1 day)", "Europe/Helsinki", NOW, datetime(2030, 4, 1, tzinfo=UTC))
    client = _use(monkeypatch, _Scheduler())
    sync_schedule("s1", plan, TARGET, enabled=False)
    [(name, params)] = client.calls
    assert name == "create_schedule" and params["State"] == "DISABLED"
    assert params["ScheduleExpression"] == "rate(1 day)" and params["ScheduleExpressionTimezone"] == "Europe/Helsinki"
    assert params["Target"] == {"Arn": TARGET.queue_arn, "RoleArn": TARGET.role_arn, "Input": TARGET.input}
    assert params["StartDate"] == datetime(2030, 3, 31, 23, 59, tzinfo=UTC)

    client = _use(monkeypatch, _Scheduler(create_schedule="ConflictException"))
    sync_schedule("s1", plan, TARGET)
    assert [c[0] for c in client.calls] == ["create_schedule", "update_schedule"]

    client = _use(monkeypatch, _Scheduler(delete_schedule="ResourceNotFoundException"))
    sync_schedule("s1", None, TARGET)  # nothing left to fire: deleted, one already gone is fine
    assert client.calls == [("delete_schedule", {"Name": "s1", "GroupName": "default"})]


def test_a_scheduler_failure_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = recurring_plan("rate(1 day)", "UTC", NOW)
    _use(monkeypatch, _Scheduler(create_schedule="ValidationException"))
    with pytest.raises(ScheduleUnavailable) as error:
        sync_schedule("s1", plan, TARGET)
    assert error.value.status == 503
    _use(monkeypatch, _Scheduler(delete_schedule="ThrottlingException"))
    with pytest.raises(ScheduleUnavailable):
        delete_schedule("s1", "default")


MASS = RecordSchedule(prefix="mass", job="mass.run", id_field="mass_activity_id", label="Mass activity")


def test_a_record_schedule_puts_its_job_for_that_record_on_the_jobs_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBS_QUEUE_ARN", "arn:aws:sqs:eu-north-1:1:activities-jobs")
    monkeypatch.setenv("SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/activities-scheduler")
    monkeypatch.setenv("SCHEDULE_GROUP", "kontakt-dev")
    settings.load.cache_clear()
    client = _use(monkeypatch, _Scheduler())
    plan = at_plan(datetime(2030, 4, 1, 6, tzinfo=UTC), "UTC", NOW)
    save_record_schedule(MASS, "t1", "M1", plan, enabled=False)
    [(call, params)] = client.calls
    assert (call, params["Name"], params["GroupName"], params["State"]) == (
        "create_schedule",
        "mass-M1",
        "kontakt-dev",
        "DISABLED",
    )
    assert params["Description"] == "Mass activity M1 of tenant t1"
    assert params["Target"]["Arn"] == "arn:aws:sqs:eu-north-1:1:activities-jobs"
    assert params["Target"]["RoleArn"] == "arn:aws:iam::1:role/activities-scheduler"
    assert json.loads(params["Target"]["Input"]) == {
        "job": "mass.run",
        "tenant_id": "t1",
        "mass_activity_id": "M1",
        "scheduled_time": SCHEDULED_TIME_PLACEHOLDER,
    }
    assert params["ActionAfterCompletion"] == "DELETE"

    client = _use(monkeypatch, _Scheduler(delete_schedule="ResourceNotFoundException"))
    delete_record_schedule(MASS, "M1")  # gone already (an at() that fired): fine
    assert client.calls == [("delete_schedule", {"Name": "mass-M1", "GroupName": "kontakt-dev"})]
    settings.load.cache_clear()


def test_a_record_whose_schedule_cannot_be_made_is_undone_and_the_client_gets_a_503(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    undone: list[str] = []
    _use(monkeypatch, _Scheduler(create_schedule="ThrottlingException"))
    plan = at_plan(datetime(2030, 4, 1, 6, tzinfo=UTC), "UTC", NOW)
    with pytest.raises(ScheduleUnavailable):
        create_record_schedule(MASS, "t1", "M1", plan, lambda: undone.append("M1"))
    assert undone == ["M1"]

    def undo_fails() -> None:
        raise ConnectionError("table unreachable")

    with pytest.raises(ScheduleUnavailable):  # the 503 still, not the undo's error
        create_record_schedule(MASS, "t1", "M1", plan, undo_fails)

    client = _use(monkeypatch, _Scheduler())
    create_record_schedule(MASS, "t1", "M1", plan, lambda: undone.append("again"))
    assert [c[0] for c in client.calls] == ["create_schedule"] and undone == ["M1"]


def test_a_firing_acts_on_its_record_only_while_the_record_is_there_and_due() -> None:
    records = {("t1", "M1"): "active", ("t1", "M2"): "passive"}
    acted: list[tuple[str, str, datetime]] = []

    @on_firing(MASS, lambda tenant, record_id: records.get((tenant, record_id)), lambda r, f: r == "active")
    def run(record: str, fired: Firing) -> None:
        acted.append((record, fired.record_id, fired.moment))

    at = "2030-04-01T06:00:00Z"
    run(Job(job="mass.run", tenant_id="t1", mass_activity_id="M1", scheduled_time=at))
    run(Job(job="mass.run", tenant_id="t1", mass_activity_id="M2", scheduled_time=at))  # not due: ignored
    run(Job(job="mass.run", tenant_id="t1", mass_activity_id="M3", scheduled_time=at))  # gone: ignored
    assert acted == [("active", "M1", datetime(2030, 4, 1, 6, tzinfo=UTC))]
    with pytest.raises(ValueError, match="mass_activity_id"):
        run(Job(job="mass.run", tenant_id="t1", scheduled_time=at))
    assert MASS.firing({"tenant_id": "t1", "mass_activity_id": "M1"}).scheduled_time is None
