"""What a schedule is, with no I/O: rules modules import it (the Scheduler calls are in scheduler.py).

A schedule's name is deterministic (a retried create or update converges on the same schedule).
The scheduler fills `<aws.scheduler.scheduled-time>` in a job's input with the firing's time;
`parse_scheduled_time` reads it back, and ids derived from it make a retried firing do nothing
twice.

The pure part says what the schedule is (`SchedulePlan`: an at(), rate() or cron() expression
with its time zone and optional start and end); `Repeat` is a recurrence a client chooses
(rate, cron, daily, weekly, monthly) with its checks (errors name the field).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from importlib.resources import files
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from shared.errors import FieldError
from shared.types import input_config

SCHEDULED_TIME = "%Y-%m-%dT%H:%M:%SZ"  # EventBridge Scheduler's <aws.scheduler.scheduled-time>
SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>"
LAST_MONTHLY_DAY = 28  # every month has it
_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


# ----------------------------------------------------------------------------- times


# The IANA zone names of the tzdata package, the zone data the Lambda runtime has (it has no
# /usr/share/zoneinfo): the names a time zone may take. The OpenAPI documents state the names'
# form, not a 598-item enum: aliases such as GMT0, GMT+0 and GMT-0 make the same identifier in a
# generated client (openapi-python-client refuses the document), and every tzdata release would
# change the API's documents. A name of that form the tz database lacks is `unknown_time_zone`.
ZONES = tuple(sorted(files("tzdata").joinpath("zones").read_text().split()))
_ZONE_NAMES = frozenset(ZONES)
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"


def _zone(value: str) -> str:
    try:
        if value not in _ZONE_NAMES:
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "unknown_time_zone",
            "unknown time zone '{zone}' (use an IANA name such as Europe/Helsinki)",
            {"zone": value},
        ) from None
    return value


TimeZone = TypeAliasType(
    "TimeZone",
    Annotated[
        str,
        Field(min_length=1, max_length=64, pattern=ZONE_PATTERN),
        AfterValidator(_zone),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": ZONE_PATTERN,
                "examples": ["Europe/Helsinki", "UTC"],
                "description": "An IANA time zone name of the tz database (tzdata); another name of this form "
                "is a 422 `unknown_time_zone`",
            }
        ),
    ],
)


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def scheduled_time(moment: datetime) -> str:
    """A firing time as the scheduler writes it (whole seconds, UTC, `Z`)."""
    return moment.astimezone(UTC).strftime(SCHEDULED_TIME)


def firing_bound(moment: datetime | None) -> str | None:
    """A time range's bound over keys that start with a firing time (`scheduled_time`, whole
    seconds): the first whole second at or after `moment`, so `from` is inclusive and `to`
    exclusive whatever fraction of a second they carry (a list's runs by `from`/`to`)."""
    if moment is None:
        return None
    whole = moment.replace(microsecond=0)
    return scheduled_time(whole if whole == moment else whole + timedelta(seconds=1))


def parse_scheduled_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def whole_minutes(value: datetime | None) -> datetime | None:
    """Schedules fire on whole minutes; keeping an input's seconds would shift every derived id."""
    return value.replace(second=0, microsecond=0) if value else value


# ----------------------------------------------------------------------------- plans


class Frequency(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


@dataclass(frozen=True)
class SchedulePlan:
    """What an EventBridge Scheduler schedule is."""

    expression: str
    time_zone: str
    start_date: datetime | None = None
    end_date: datetime | None = None
    one_time: bool = False


def at_plan(at: datetime, zone: str, now: datetime) -> SchedulePlan | None:
    """A one-time schedule (deleted by the scheduler once it fired); None when `at` is past."""
    if at <= now:
        return None
    return SchedulePlan(f"at({local(at, zone).strftime('%Y-%m-%dT%H:%M:%S')})", zone, one_time=True)


def recurring_plan(
    expression: str, zone: str, now: datetime, start: datetime | None = None, end: datetime | None = None
) -> SchedulePlan | None:
    """A repeating schedule from `start` (its first firing, kept) to `end`; None once ended."""
    if end is not None and end <= now:
        return None
    # The scheduler starts after StartDate: a minute before the first firing keeps it. A start
    # already past is left out (AWS refuses a StartDate more than 5 minutes ago).
    begin = start - timedelta(minutes=1) if start else None
    return SchedulePlan(expression, zone, start_date=begin if begin and begin > now else None, end_date=end)


def cron(frequency: Frequency, first: datetime) -> str:
    """A cron() expression repeating the local time of `first` daily, on its weekday, or on its day."""
    minute, hour = first.minute, first.hour
    if frequency == Frequency.daily:
        return f"cron({minute} {hour} * * ? *)"
    if frequency == Frequency.weekly:
        return f"cron({minute} {hour} ? * {_WEEKDAYS[first.weekday()]} *)"
    return f"cron({minute} {hour} {first.day} * ? *)"


SCHEDULE_NAME_MAX = 64  # EventBridge Scheduler: 1-64 of [0-9a-zA-Z-_.]
_SCHEDULE_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")


def schedule_name(kind: str, record_id: str) -> str:
    """A schedule's name: deterministic, so a retried create finds the one it made.

    The stack's schedule group (one per stage) scopes it, so the name carries no stage; `kind`
    (mass, campaign, automation) is the prefix each service's role may touch. Never truncated: a
    name that does not fit is an error, not a collision with another record's schedule.
    """
    name = f"{kind}-{record_id}"
    if not _SCHEDULE_NAME.fullmatch(name):
        raise ValueError(f"schedule name {name!r} is not 1-{SCHEDULE_NAME_MAX} of [0-9a-zA-Z-_.]")
    return name


@dataclass(frozen=True)
class RecordSchedule:
    """The schedules of one kind of a service's records (mass activities, campaigns, automations).

    One schedule per record, named `<prefix>-<record id>` in the stack's schedule group; each puts
    `{"job": job, "tenant_id", id_field: record id, "scheduled_time"}` on its service's jobs queue.
    """

    prefix: str  # mass, campaign, automation: the names the service's scheduler role may touch
    job: str  # the job it puts on the jobs queue, e.g. mass.run
    id_field: str  # the record's id in that job, e.g. mass_activity_id
    label: str  # the record in the schedule's description and in logs, e.g. "Mass activity"

    def name(self, record_id: str) -> str:
        return schedule_name(self.prefix, record_id)

    def job_input(self, tenant: str, record_id: str) -> dict[str, str]:
        """The job, less the `scheduled_time` the scheduler fills in."""
        return {"job": self.job, "tenant_id": tenant, self.id_field: record_id}

    def description(self, tenant: str, record_id: str) -> str:
        return f"{self.label} {record_id} of tenant {tenant}"

    def firing(self, job: Mapping[str, Any]) -> Firing:
        """The firing a job of this schedule is; ValueError when it names no tenant or record."""
        tenant, record_id, at = job.get("tenant_id"), job.get(self.id_field), job.get("scheduled_time")
        if not isinstance(tenant, str) or not isinstance(record_id, str):
            raise ValueError(f"a {self.job} job names its tenant_id and {self.id_field}")
        return Firing(tenant, record_id, at if isinstance(at, str) else None)


@dataclass(frozen=True)
class Firing:
    """One firing of a record's schedule: whose record, and the time as the scheduler wrote it."""

    tenant_id: str
    record_id: str
    scheduled_time: str | None

    @property
    def time(self) -> str:
        """The firing's time as written; ValueError for a job without one."""
        if self.scheduled_time is None:
            raise ValueError("the job has no scheduled_time")
        return self.scheduled_time

    @property
    def moment(self) -> datetime:
        return parse_scheduled_time(self.time)


# ----------------------------------------------------------------------------- expressions


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON_FIELDS = (
    ("minutes", r"[0-9,\-*/]+"),
    ("hours", r"[0-9,\-*/]+"),
    ("day-of-month", r"[0-9,\-*?/LW]+"),
    ("month", r"[0-9A-Za-z,\-*/]+"),
    ("day-of-week", r"[0-9A-Za-z,\-*?/L#]+"),
    ("year", r"[0-9,\-*/]+"),
)


def rate_problem(expression: str) -> str | None:
    """Why a rate() expression is not one EventBridge Scheduler takes (None: it is)."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        return "write rate(<number> <minute(s)|hour(s)|day(s)>), e.g. rate(1 day)"
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        return "the rate must be at least 1"
    if (value == 1) != (not unit.endswith("s")):
        return "use a singular unit with 1 and a plural one otherwise (rate(1 day), rate(2 days))"
    return None


def cron_problem(expression: str) -> str | None:
    """Why a cron() expression is not one EventBridge Scheduler takes (None: it is)."""
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if match is None:
        return "write cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)"
    parts = match.group(1).split()
    if len(parts) != len(_CRON_FIELDS):
        return "a cron expression has 6 fields: minutes hours day-of-month month day-of-week year"
    for text, (name, pattern) in zip(parts, _CRON_FIELDS, strict=True):
        if not re.fullmatch(pattern, text):
            return f"the {name} field {text!r} is not valid"
    if (parts[2] == "?") == (parts[4] == "?"):
        return "exactly one of day-of-month and day-of-week is '?'"
    return None


# ----------------------------------------------------------------------------- a client's recurrence


class RepeatMode(StrEnum):
    rate = "rate"
    cron = "cron"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


# The expressions `rate_problem` and `cron_problem` take, as JSON Schema patterns (a little
# narrower: single spaces, no '?' in the day field that is not '?').
RATE_PATTERN = r"^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$"
_DAY_OF_MONTH, _DAY_OF_WEEK = r"[0-9,\-*/LW]+", r"[0-9A-Za-z,\-*/L#]+"
CRON_PATTERN = (
    r"^cron\([0-9,\-*/]+ [0-9,\-*/]+ "
    rf"(\? [0-9A-Za-z,\-*/]+ {_DAY_OF_WEEK}|{_DAY_OF_MONTH} [0-9A-Za-z,\-*/]+ \?)"
    r" [0-9,\-*/]+\)$"
)


class Repeat(BaseModel):
    """How often something runs: an EventBridge rate() or cron() expression, or daily, weekly or
    monthly at the local time (and weekday or day) of `start`.

    Modes rate and cron need `expression`; daily, weekly and monthly need `start` and take no
    `expression`. `end` is after `start` and in the future; a monthly run's `start` is on day 1 to
    28 of its month in `time_zone` (422 `before_start`, `in_past`, `day_of_month`)."""

    model_config = input_config(
        anyOf=[
            {
                "required": ["mode", "expression"],
                "properties": {"mode": {"const": "rate"}, "expression": {"type": "string", "pattern": RATE_PATTERN}},
            },
            {
                "required": ["mode", "expression"],
                "properties": {"mode": {"const": "cron"}, "expression": {"type": "string", "pattern": CRON_PATTERN}},
            },
            {
                "required": ["mode", "start"],
                "properties": {
                    "mode": {"enum": ["daily", "weekly", "monthly"]},
                    "expression": {"type": "null"},
                    "start": {"type": "string"},
                },
            },
        ]
    )

    mode: RepeatMode
    expression: str | None = Field(
        None, max_length=200, description="Modes rate and cron: e.g. `rate(1 day)`, `cron(0 9 ? * MON *)`"
    )
    start: AwareDatetime | None = Field(
        None, description="The first run (needed with daily, weekly, monthly); rate and cron: none before it"
    )
    end: AwareDatetime | None = Field(None, description="No runs after this")
    time_zone: TimeZone = "UTC"

    _minutes = field_validator("start", "end")(whole_minutes)

    def problems(self, now: datetime, prefix: str = "schedule") -> list[FieldError]:
        """What is wrong with it beyond its field types (each error names its field under `prefix`)."""

        def error(name: str, message: str, code: str) -> FieldError:
            return FieldError(field=f"{prefix}.{name}", message=message, code=code)

        errors = []
        expressive = self.mode in (RepeatMode.rate, RepeatMode.cron)
        if expressive and not self.expression:
            errors.append(error("expression", f"mode {self.mode} needs an expression", "missing"))
        elif expressive and self.expression:
            check = rate_problem if self.mode == RepeatMode.rate else cron_problem
            problem = check(self.expression)
            if problem:
                errors.append(error("expression", problem, "invalid"))
        elif self.expression:
            errors.append(error("expression", f"not used with mode {self.mode}", "not_allowed"))
        if not expressive and self.start is None:
            errors.append(error("start", f"mode {self.mode} needs start", "missing"))
        if self.start and self.end and self.end <= self.start:
            errors.append(error("end", "must be after start", "before_start"))
        if self.end and self.end <= now:
            errors.append(error("end", "must be in the future", "in_past"))
        start_day = local(self.start, self.time_zone).day if self.start else 1
        if self.mode == RepeatMode.monthly and start_day > LAST_MONTHLY_DAY:
            message = f"a monthly run takes a day of month from 1 to {LAST_MONTHLY_DAY}, which every month has"
            errors.append(error("start", message, "day_of_month"))
        return errors

    def plan(self, now: datetime) -> SchedulePlan | None:
        """The schedule that fires it; None when nothing is left to fire."""
        if self.mode in (RepeatMode.rate, RepeatMode.cron):
            expression = (self.expression or "").strip()
        elif self.start is not None:
            expression = cron(Frequency(self.mode.value), local(self.start, self.time_zone))
        else:
            return None
        return recurring_plan(expression, self.time_zone, now, self.start, self.end)

    def fires_at(self, moment: datetime) -> bool:
        """Whether a firing at `moment` is within the recurrence (not before start, not after end)."""
        return (self.end is None or moment <= self.end) and (self.start is None or moment >= self.start)
