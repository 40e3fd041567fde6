"""Mass activities from a target group: API models and the pure rules [002 Aktiviteettien luominen
kohderyhmän avulla; Kohderyhmäaktiviteettien asetukset ja ajastaminen].

For each member of a target group one activity is created, linked to the contact (and its
account), for the member's responsible user or for a named user; now, at a set time, or
recurring. Scheduling is the admin's (here: admins and managers); a scheduled mass activity is
active or passive.

A run is one resolution of the group. Its id (the audience request id) is derived from the mass
activity and the run time, and each activity id from the run and the contact, so re-running a
firing or redelivering a page makes the same ids again and never a second activity.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from services.activities.domain.models import ActivityKind, Description, OptLocation, Subject
from shared.contracts.audience import AudienceMember
from shared.errors import FieldError
from shared.ids import derived_id
from shared.schedules import (  # noqa: F401 (SCHEDULED_TIME, parse_scheduled_time: re-exported)
    LAST_MONTHLY_DAY,
    SCHEDULED_TIME,
    Frequency,
    RecordSchedule,
    SchedulePlan,
    TimeZone,
    at_plan,
    cron,
    local,
    parse_scheduled_time,
    recurring_plan,
    scheduled_time,
    whole_minutes,
)
from shared.types import INPUT, OUTPUT, Code, CodeList, Id, OptCode, OptId, OptText200, input_config, reject_null

CRM_FIELDS = ("category", "crm_kind", "crm_type", "properties")
JOB = "mass.run"  # what a mass activity's schedule puts on the jobs queue
SCHEDULE = RecordSchedule(prefix="mass", job=JOB, id_field="mass_activity_id", label="Mass activity")


class OwnerMode(StrEnum):
    member_owner = "member_owner"
    user = "user"


class ScheduleMode(StrEnum):
    now = "now"
    at = "at"
    recurring = "recurring"


class MassActivityTemplate(BaseModel):
    """What each member's activity looks like; its day comes from the run."""

    model_config = INPUT

    type: Code = Field(
        description="An active activity type of the tenant; an event's needs `start_time`, a task's `due_time` "
        "and no `start_time`"
    )
    subject: Subject
    description: Description = None
    location: OptLocation = None
    category: OptCode = Field(None, description="CRM category; sets crm_kind and crm_type from settings")
    crm_kind: OptCode = None
    crm_type: OptCode = None
    properties: CodeList = Field(default_factory=list, description="CRM properties (checkboxes)")
    day: date | None = Field(None, description="The activities' day; not with a recurring schedule")
    days_after: int = Field(0, ge=0, le=365, description="Without `day`: this many days after the run's day")
    start_time: time | None = Field(None, description="Events: local start time (the schedule's time zone)")
    duration_minutes: int = Field(60, ge=1, le=24 * 60, description="Events: how long")
    due_time: time | None = Field(None, description="Tasks: local due time (the schedule's time zone)")


class MassOwner(BaseModel):
    """Who is responsible for the activities: each member's responsible user, or one named user
    (mode `user` names it in `user_id`; mode `member_owner` names none)."""

    model_config = input_config(
        anyOf=[
            {
                "properties": {"mode": {"const": "user"}, "user_id": {"type": "string"}},
                "required": ["mode", "user_id"],
            },
            {"properties": {"mode": {"const": "member_owner"}, "user_id": {"type": "null"}}},
        ]
    )

    mode: OwnerMode = OwnerMode.member_owner
    user_id: OptId = Field(None, description="With mode `user`: the responsible user")


class MassSchedule(BaseModel):
    """Mode `now` (the default) takes none of `at`, `frequency`, `start`, `end`; mode `at` needs `at`
    (in the future); mode `recurring` needs `frequency` and `start`, and may have an `end` (after
    `start`, in the future). A monthly run's `start` is on day 1 to 28 of its month (local)."""

    model_config = input_config(
        anyOf=[
            {
                "properties": {
                    "mode": {"const": "now"},
                    **{name: {"type": "null"} for name in ("at", "frequency", "start", "end")},
                }
            },
            {
                "properties": {
                    "mode": {"const": "at"},
                    "at": {"type": "string"},
                    **{name: {"type": "null"} for name in ("frequency", "start", "end")},
                },
                "required": ["mode", "at"],
            },
            {
                "properties": {
                    "mode": {"const": "recurring"},
                    "frequency": {"type": "string"},
                    "start": {"type": "string"},
                    "at": {"type": "null"},
                },
                "required": ["mode", "frequency", "start"],
            },
        ]
    )

    mode: ScheduleMode = ScheduleMode.now
    at: AwareDatetime | None = Field(None, description="Mode `at`: when to run")
    frequency: Frequency | None = Field(None, description="Mode `recurring`")
    start: AwareDatetime | None = Field(
        None, description="Mode `recurring`: the first run; later runs keep its local time (and weekday or day)"
    )
    end: AwareDatetime | None = Field(None, description="Mode `recurring`: no runs after this")
    time_zone: TimeZone = "UTC"

    _whole_minutes = field_validator("at", "start", "end")(whole_minutes)


class MassActivityCreate(BaseModel):
    """A recurring schedule makes activities on each run's day: `activity.day` only with the other modes."""

    model_config = input_config(
        anyOf=[
            {"properties": {"schedule": {"properties": {"mode": {"enum": ["now", "at"]}}}}},
            {"properties": {"activity": {"properties": {"day": {"type": "null"}}}}},
        ]
    )

    name: OptText200 = Field(None, description="Defaults to the activity's subject")
    target_group_id: Id
    activity: MassActivityTemplate
    owner: MassOwner = Field(default_factory=MassOwner)
    schedule: MassSchedule = Field(default_factory=MassSchedule)
    active: bool = Field(True, description="A passive scheduled mass activity does not run")


class MassActivityUpdate(BaseModel):
    """PATCH: make a mass activity active or passive, or rename it."""

    model_config = INPUT

    name: OptText200 = None
    active: bool | None = None

    _not_null = field_validator("name", "active")(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class MassActivity(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    target_group_id: str
    activity: MassActivityTemplate
    owner: MassOwner
    schedule: MassSchedule
    active: bool = True
    kind: ActivityKind = Field(description="Whether the activities are events or tasks (from the type)")
    schedule_name: str | None = Field(None, description="The EventBridge Scheduler schedule that fires it")
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


class MassRun(BaseModel):
    """One resolution of the target group and the activities it made (counted per page seen)."""

    model_config = OUTPUT

    id: str = Field(description="The run's id, also the audience request id")
    mass_activity_id: str
    target_group_id: str
    run_at: datetime
    requested_at: datetime
    pages_seen: int = 0
    last_page: int | None = Field(None, description="The number of the last page, once it was seen")
    total_members: int | None = None
    activities: int = Field(0, description="Members whose activity exists (made by this run)")
    done: bool = False
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def check(body: MassActivityCreate, kind: ActivityKind, now: datetime) -> list[FieldError]:
    """What is wrong with a new mass activity beyond its field types (each error names its field)."""
    return [*_check_owner(body.owner), *_check_schedule(body.schedule, now), *_check_template(body, kind)]


def _check_owner(owner: MassOwner) -> list[FieldError]:
    if owner.mode == OwnerMode.user and not owner.user_id:
        return [FieldError(field="owner.user_id", message="name the responsible user", code="missing")]
    if owner.mode == OwnerMode.member_owner and owner.user_id:
        return [FieldError(field="owner.user_id", message="a user is named only with mode user", code="not_allowed")]
    return []


def _check_schedule(schedule: MassSchedule, now: datetime) -> list[FieldError]:
    needed = {ScheduleMode.now: set(), ScheduleMode.at: {"at"}, ScheduleMode.recurring: {"frequency", "start"}}
    allowed = {**needed, ScheduleMode.recurring: {"frequency", "start", "end"}}[schedule.mode]
    errors = [
        FieldError(field=f"schedule.{name}", message=f"mode {schedule.mode} needs {name}", code="missing")
        for name in sorted(needed[schedule.mode])
        if getattr(schedule, name) is None
    ]
    errors += [
        FieldError(field=f"schedule.{name}", message=f"not used with mode {schedule.mode}", code="not_allowed")
        for name in ("at", "frequency", "start", "end")
        if name not in allowed and getattr(schedule, name) is not None
    ]
    if schedule.mode == ScheduleMode.at and schedule.at and schedule.at <= now:
        errors.append(FieldError(field="schedule.at", message="must be in the future", code="in_past"))
    if schedule.start and schedule.end and schedule.end <= schedule.start:
        errors.append(FieldError(field="schedule.end", message="must be after start", code="before_start"))
    if schedule.end and schedule.end <= now:
        errors.append(FieldError(field="schedule.end", message="must be in the future", code="in_past"))
    start_day = local(schedule.start, schedule.time_zone).day if schedule.start else 1
    if schedule.frequency == Frequency.monthly and start_day > LAST_MONTHLY_DAY:
        message = f"a monthly run takes a day of month from 1 to {LAST_MONTHLY_DAY}, which every month has"
        errors.append(FieldError(field="schedule.start", message=message, code="day_of_month"))
    return errors


def _check_template(body: MassActivityCreate, kind: ActivityKind) -> list[FieldError]:
    template, errors = body.activity, []
    if kind == ActivityKind.event and template.start_time is None:
        message = "an event needs its start time"
        errors.append(FieldError(field="activity.start_time", message=message, code="event_times"))
    if kind == ActivityKind.task and template.due_time is None:
        errors.append(FieldError(field="activity.due_time", message="a task needs its due time", code="task_times"))
    if kind == ActivityKind.task and template.start_time is not None:
        message = "a task has a due time, not a start time"
        errors.append(FieldError(field="activity.start_time", message=message, code="task_times"))
    if template.day is not None and body.schedule.mode == ScheduleMode.recurring:
        message = "a recurring mass activity makes activities on each run's day (see days_after)"
        errors.append(FieldError(field="activity.day", message=message, code="not_allowed"))
    return errors


def activity_times(template: MassActivityTemplate, kind: ActivityKind, run_at: datetime, zone: str) -> dict[str, Any]:
    """The start and end (events) or due time (tasks) of the activities of a run."""
    tz = ZoneInfo(zone)
    day = template.day or local(run_at, zone).date() + timedelta(days=template.days_after)
    if kind == ActivityKind.event:
        start = datetime.combine(day, (template.start_time or time(9)).replace(tzinfo=None), tzinfo=tz)
        end = start + timedelta(minutes=template.duration_minutes)
        return {"start": start.astimezone(UTC), "end": end.astimezone(UTC)}
    due = datetime.combine(day, (template.due_time or time(16)).replace(tzinfo=None), tzinfo=tz)
    return {"due": due.astimezone(UTC)}


def owner_of(owner: MassOwner, member: AudienceMember, creator: str) -> str:
    """The responsible user of a member's activity: the named user, or the member's responsible
    user (its owner when that is a user, else its account manager), else whoever created the mass
    activity. A group owns contacts but cannot be responsible for an activity."""
    if owner.mode == OwnerMode.user and owner.user_id:
        return owner.user_id
    owner_is_user = member.owner_type != "group"
    return (member.owner_id if owner_is_user else None) or member.account_manager_id or creator


def run_id(mass_activity_id: str, run_at: datetime) -> str:
    """The id of a run (and of its audience request): one per mass activity and run time."""
    return derived_id("mass-run", mass_activity_id, scheduled_time(run_at))


def activity_id(request_id: str, contact_id: str) -> str:
    """The id of a member's activity in a run: a redelivered page makes the same id."""
    return derived_id("mass-activity", request_id, contact_id)


def runs_at(mass: MassActivity, run_at: datetime) -> bool:
    """Whether a firing at `run_at` makes activities: passive or ended ones do not."""
    if not mass.active or mass.schedule.mode == ScheduleMode.now:
        return False
    return mass.schedule.end is None or run_at <= mass.schedule.end


# ---------------------------------------------------------------------------------------------
# Schedules (EventBridge Scheduler)
# ---------------------------------------------------------------------------------------------


def schedule_plan(schedule: MassSchedule, now: datetime) -> SchedulePlan | None:
    """The schedule that fires a mass activity; None when nothing is left to fire."""
    zone = schedule.time_zone
    if schedule.mode == ScheduleMode.at and schedule.at:
        return at_plan(schedule.at, zone, now)
    if schedule.mode != ScheduleMode.recurring or schedule.start is None or schedule.frequency is None:
        return None
    expression = cron(schedule.frequency, local(schedule.start, zone))
    return recurring_plan(expression, zone, now, schedule.start, schedule.end)


def schedule_name(mass_activity_id: str) -> str:
    """The schedule's name (in the stack's schedule group): deterministic, so a retried create finds the one it made."""
    return SCHEDULE.name(mass_activity_id)


# ---------------------------------------------------------------------------------------------
# Run summaries
# ---------------------------------------------------------------------------------------------


def summarize(run: dict[str, Any], pages: list[dict[str, Any]]) -> MassRun:
    """A run's progress from its per-page records (one per page number, whatever redeliveries)."""
    last = next((p for p in pages if p.get("last")), None)
    numbers = {int(p["page"]) for p in pages}
    last_page = int(last["page"]) if last else None
    errors = [str(p["error"]) for p in pages if p.get("error")]
    return MassRun.model_validate(
        {
            **run,
            "pages_seen": len(numbers),
            "last_page": last_page,
            "total_members": last.get("total_members") if last else None,
            "activities": sum(int(p.get("activities", 0)) for p in pages),
            "done": last_page is not None and numbers == set(range(1, last_page + 1)),
            "error": "; ".join(errors) or None,
        }
    )
