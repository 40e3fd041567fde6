"""Schedules: EventBridge rules with a ScheduleExpression and EventBridge Scheduler schedules.

moto stores Scheduler schedules but never fires them, so the runtime does: a thread calls
`fire_due(now)` every second, and tests call it with the time they want.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from infra.pumps import Pump
from infra.template import ACCOUNT_ID, REGION, Schedule, Stack

log = logging.getLogger("kontakt.schedules")

_MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}  # AWS: 1 = Sunday
_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


class ScheduleExpressionError(ValueError):
    pass


# ---------------------------------------------------------------- expressions


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """One cron field as the set of values it allows; None for `?` or `*` (any)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-")
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if step > 1 else start
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleExpressionError(f"unsupported cron value {text!r} (L, W and # are not supported locally)")
    return int(text)


@dataclass
class Cron:
    minutes: set[int] | None
    hours: set[int] | None
    days: set[int] | None
    months: set[int] | None
    weekdays: set[int] | None
    years: set[int] | None

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 6:
            raise ScheduleExpressionError(f"cron needs 6 fields: {text!r}")
        return cls(
            minutes=_field(parts[0], 0, 59),
            hours=_field(parts[1], 0, 23),
            days=_field(parts[2], 1, 31),
            months=_field(parts[3], 1, 12, _MONTHS),
            weekdays=_field(parts[4], 1, 7, _DAYS),
            years=_field(parts[5], 1970, 2199),
        )

    def _day_matches(self, day: datetime) -> bool:
        weekday = (day.isoweekday() % 7) + 1  # Sunday -> 1
        return (
            (self.years is None or day.year in self.years)
            and (self.months is None or day.month in self.months)
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
        )

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching minute strictly after `moment` (in moment's time zone)."""
        start = moment.replace(second=0, microsecond=0)
        day = start.replace(hour=0, minute=0)
        hours = sorted(self.hours) if self.hours is not None else range(24)
        minutes = sorted(self.minutes) if self.minutes is not None else range(60)
        for _ in range(366 * 5):
            if self._day_matches(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate > moment:
                            return candidate
            day = day + timedelta(days=1)
        return None


def next_fire(expression: str, after: datetime, timezone: str = "UTC") -> datetime | None:
    """The next time an `at()`, `rate()` or `cron()` expression fires strictly after `after`.

    For rate(), `after` is the last firing (or the creation time): the next is one period later.
    """
    zone = ZoneInfo(timezone or "UTC")
    match = re.fullmatch(r"(at|rate|cron)\((.*)\)", expression.strip())
    if not match:
        raise ScheduleExpressionError(f"unknown schedule expression {expression!r}")
    kind, body = match.groups()
    if kind == "at":
        moment = datetime.fromisoformat(body).replace(tzinfo=zone)
        return moment if moment > after else None
    if kind == "rate":
        amount, unit = body.split()
        return after + timedelta(seconds=int(amount) * _UNITS[unit])
    found = Cron.parse(body).next_after(after.astimezone(zone))
    return found.astimezone(UTC) if found else None


def _rate_period(expression: str) -> timedelta | None:
    """A rate() expression's period (None for at() and cron())."""
    match = re.fullmatch(r"rate\((\d+) (\w+)\)", expression.strip())
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]]) if match else None


def _latest_due(expression: str, timezone: str, created: datetime, now: datetime) -> datetime | None:
    """The schedule's latest firing due by `now`, or its first when none is (counted from `created`)."""
    due = next_fire(expression, created, timezone)
    period = _rate_period(expression)
    if period is not None and due is not None and due <= now:
        # Counted, not stepped: a test fires moments years ahead, millions of minutes for rate(1 minute).
        return due + ((now - due) // period) * period
    while due is not None and (following := next_fire(expression, due, timezone)) is not None and following <= now:
        due = following
    return due


def _first_after(expression: str, due: datetime | None, now: datetime, timezone: str) -> datetime | None:
    """The first firing after `now`, stepping on from `due` (a firing): missed firings coalesce."""
    period = _rate_period(expression)
    if period is not None and due is not None and due <= now:
        return due + ((now - due) // period + 1) * period
    while due is not None and due <= now:
        due = next_fire(expression, due, timezone)
    return due


# ---------------------------------------------------------------- firing


# How far back the clock may go before a schedule forgets the future it was fired at: tests fire
# moments hours ahead (which must not fire twice) and years ahead (which must not silence the rest).
CLOCK_JUMP = timedelta(days=1)


@dataclass
class _State:
    expression: str
    timezone: str
    next_due: datetime | None
    seen: datetime | None = None  # the latest `now` asked about


class ScheduleRunner(Pump):
    """Fires the template's schedule rules and the Scheduler schedules that exist in the emulator."""

    name = "schedules"

    def __init__(
        self,
        stack: Stack,
        scheduler: Any,
        sqs: Any,
        invoke: Callable[[str, Any], Any],
        started: datetime | None = None,
    ) -> None:
        super().__init__()
        self.stack = stack
        self.scheduler = scheduler
        self.sqs = sqs
        self.invoke = invoke
        self.started = started or datetime.now(UTC)
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def poll_once(self) -> None:
        if not self._stop.wait(1):
            self.fire_due(datetime.now(UTC))

    def fire_due(self, now: datetime | None = None) -> list[str]:
        """Fire every schedule due at `now` (missed firings coalesce into one); returns their names."""
        now = now or datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        fired = []
        with self._lock:
            for key, schedule in self.stack.schedules.items():
                due = self._due(
                    f"template:{key}", schedule.expression, schedule.timezone, self.started, now, rewind=True
                )
                if schedule.enabled and due:
                    self._fire_template(schedule, due)
                    fired.append(schedule.name)
            for summary in self._scheduler_schedules():
                if self._fire_scheduler(summary, now):
                    fired.append(summary["Name"])
        return fired

    def _due(
        self, key: str, expression: str, timezone: str, created: datetime, now: datetime, rewind: bool = False
    ) -> datetime | None:
        """The time this firing was scheduled for, if the schedule is due at `now`.

        `rewind`: the stack's own schedules (the minute reminder sweep) serve every test of a session,
        so a test that fired them years ahead must not silence them for the tests after it. A
        schedule a test created is that test's own: it keeps the future its test fired it at.
        """
        state = self._states.get(key)
        if state is None or state.expression != expression:
            state = _State(expression, timezone, next_fire(expression, created, timezone))
            self._states[key] = state
        if rewind and state.seen is not None and now < state.seen - CLOCK_JUMP:
            # A test fired a moment far ahead, then time came back: the latest firing due by now fires
            # (at least once, as on AWS: consumers are idempotent per scheduled time), then on from it.
            state.next_due = _latest_due(expression, timezone, created, now)
        state.seen = now
        if state.next_due is None or state.next_due > now:
            return None
        scheduled = state.next_due
        state.next_due = next_fire(expression, now if not expression.startswith("rate") else state.next_due, timezone)
        state.next_due = _first_after(expression, state.next_due, now, timezone)  # coalesce missed rate() firings
        return scheduled

    def _fire_template(self, schedule: Schedule, now: datetime) -> None:
        if schedule.kind == "rule":
            event: Any = json.loads(schedule.input) if schedule.input else scheduled_event(schedule.arn, now)
        else:
            event = json.loads(with_context(schedule.input, now)) if schedule.input else {}
        self._deliver(schedule.name, schedule.target_arn, event)

    def upcoming(self, limit: int = 50) -> list[dict[str, Any]]:
        """Each schedule (the template's, then the Scheduler schedules in the emulator, at most
        `limit`) and when it fires next, as this runner will fire it (None: never again, or unknown)."""
        with self._lock:
            states = dict(self._states)
        rows = []
        for key, schedule in self.stack.schedules.items():
            state = states.get(f"template:{key}")
            due = state.next_due if state else next_fire(schedule.expression, self.started, schedule.timezone)
            target = schedule.function or schedule.target_arn.rsplit(":", 1)[-1]
            rows.append(_upcoming(schedule.name, schedule.kind, schedule.expression, schedule.enabled, target, due))
        for summary in self._scheduler_schedules()[: max(0, limit - len(rows))]:
            prefix = f"scheduler:{summary.get('GroupName', 'default')}/{summary['Name']}:"
            state = next((s for k, s in reversed(states.items()) if k.startswith(prefix)), None)
            target = str((summary.get("Target") or {}).get("Arn", "")).rsplit(":", 1)[-1]
            enabled = summary.get("State") != "DISABLED"
            expression = state.expression if state else ""
            due = state.next_due if state else None
            rows.append(_upcoming(summary["Name"], "scheduler", expression, enabled, target, due))
        return rows

    def _scheduler_schedules(self) -> list[dict[str, Any]]:
        schedules = []
        for page in self.scheduler.get_paginator("list_schedules").paginate():
            schedules.extend(page.get("Schedules", []))
        return schedules

    def _fire_scheduler(self, summary: dict[str, Any], now: datetime) -> bool:
        if summary.get("State") == "DISABLED":
            return False
        group = summary.get("GroupName", "default")
        detail = self.scheduler.get_schedule(Name=summary["Name"], GroupName=group)
        created = detail.get("CreationDate") or self.started
        start = detail.get("StartDate")
        baseline = max(created, start) if start else created
        key = f"scheduler:{group}/{summary['Name']}:{created.isoformat()}"
        timezone = detail.get("ScheduleExpressionTimezone") or "UTC"
        scheduled = self._due(key, detail["ScheduleExpression"], timezone, baseline, now)
        if scheduled is None:
            return False
        target = detail["Target"]
        event = json.loads(with_context(target["Input"], scheduled)) if target.get("Input") else {}
        self._deliver(summary["Name"], target["Arn"], event)
        if detail["ScheduleExpression"].startswith("at(") and detail.get("ActionAfterCompletion") == "DELETE":
            self.scheduler.delete_schedule(Name=summary["Name"], GroupName=group)
        return True

    def _deliver(self, name: str, target_arn: str, event: Any) -> None:
        service = target_arn.split(":")[2]
        if service == "sqs":
            queue = self.stack.queue_by_arn(target_arn)
            url = queue.url if queue else self.sqs.get_queue_url(QueueName=target_arn.rsplit(":", 1)[-1])["QueueUrl"]
            self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        elif service == "lambda":
            function = self.stack.function_by_name(target_arn.split(":")[6])
            if function is None:
                log.error("schedule %s targets unknown function %s", name, target_arn)
                return
            try:
                self.invoke(function.logical_id, event)
            except Exception as error:
                log.warning("schedule %s -> %s failed: %s", name, function.name, error)
                return
        else:
            log.error("schedule %s: target %s is not supported locally", name, target_arn)
            return
        log.info("schedule %s fired -> %s", name, target_arn)


def _upcoming(
    name: str, kind: str, expression: str, enabled: bool, target: str, due: datetime | None
) -> dict[str, Any]:
    when = due.astimezone(UTC).isoformat().replace("+00:00", "Z") if due and enabled else None
    return {"name": name, "kind": kind, "expression": expression, "enabled": enabled, "target": target, "next": when}


def with_context(text: str, scheduled: datetime) -> str:
    """A Scheduler target input with its context attributes filled in, as AWS does."""
    values = {
        "<aws.scheduler.scheduled-time>": scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "<aws.scheduler.execution-id>": str(uuid.uuid4()),
        "<aws.scheduler.attempt-number>": "1",
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def scheduled_event(rule_arn: str, now: datetime) -> dict[str, Any]:
    """The event EventBridge sends for a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }
