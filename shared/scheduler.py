"""EventBridge Scheduler schedules that put jobs on a service's jobs queue (the calls; what a
schedule is lives in schedules.py).

A schedule is a trigger derived from a record, written after the record commits: `sync_schedule`
creates, updates or deletes it to match the record, and `delete_schedule` ignores one already gone.

A service's records with a schedule each (mass activities, campaigns, automations) use the
`RecordSchedule` helpers: `save_record_schedule`, `create_record_schedule` (undoing the new record
when the schedule cannot be made), `delete_record_schedule`, and `on_firing` for the job the
schedule puts on the service's jobs queue (SchedulerSettings: JOBS_QUEUE_ARN, SCHEDULER_ROLE_ARN,
SCHEDULE_GROUP).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import DomainError
from shared.observability import logger
from shared.schedules import SCHEDULED_TIME_PLACEHOLDER, Firing, RecordSchedule, SchedulePlan
from shared.settings import SchedulerSettings, load
from shared.subscriptions import Job, RunJob

T = TypeVar("T")


class ScheduleUnavailable(DomainError):
    status, code, title = 503, "schedule_unavailable", "Schedule unavailable"


@dataclass(frozen=True)
class ScheduleTarget:
    """Where a schedule puts its job: a queue, the role the scheduler assumes, the schedule group,
    and the job's JSON (see `target_input`)."""

    queue_arn: str
    role_arn: str
    group: str
    input: str


def target_input(payload: Mapping[str, Any]) -> str:
    """A job's JSON with `scheduled_time` left for the scheduler to fill in."""
    return json.dumps({**payload, "scheduled_time": SCHEDULED_TIME_PLACEHOLDER})


@cache
def scheduler_client() -> Any:
    import boto3  # here: a function that never calls scheduler does not load boto3 (~20 ms of a cold start)

    return boto3.client("scheduler")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def sync_schedule(
    name: str, plan: SchedulePlan | None, target: ScheduleTarget, *, enabled: bool = True, description: str = ""
) -> None:
    """Make the schedule `name` what `plan` says: created, updated, or deleted when there is no plan.

    Safe to repeat: an existing schedule is updated, a missing one created. ScheduleUnavailable
    (503) when the scheduler cannot be reached or refuses.
    """
    if plan is None:
        delete_schedule(name, target.group)
        return
    params: dict[str, Any] = {
        "Name": name,
        "GroupName": target.group,
        "Description": description[:512],
        "ScheduleExpression": plan.expression,
        "ScheduleExpressionTimezone": plan.time_zone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if enabled else "DISABLED",
        "Target": {"Arn": target.queue_arn, "RoleArn": target.role_arn, "Input": target.input},
    }
    if plan.start_date:
        params["StartDate"] = plan.start_date
    if plan.end_date:
        params["EndDate"] = plan.end_date
    if plan.one_time:
        params["ActionAfterCompletion"] = "DELETE"
    try:
        try:
            scheduler_client().create_schedule(**params)
        except ClientError as error:
            if _error_code(error) != "ConflictException":
                raise
            scheduler_client().update_schedule(**params)  # made by an earlier try: converge
    except (ClientError, BotoCoreError) as error:
        logger.exception("schedule not saved", extra={"schedule": name})
        raise ScheduleUnavailable("The schedule could not be saved; try again.") from error


def delete_schedule(name: str, group: str) -> None:
    """Delete a schedule; one already gone (an at() that fired, an earlier try) is fine."""
    try:
        scheduler_client().delete_schedule(Name=name, GroupName=group)
    except ClientError as error:
        if _error_code(error) == "ResourceNotFoundException":
            return
        logger.exception("schedule not deleted", extra={"schedule": name})
        raise ScheduleUnavailable("The schedule could not be deleted; try again.") from error
    except BotoCoreError as error:
        raise ScheduleUnavailable("The schedule could not be deleted; try again.") from error


# ----------------------------------------------------------------------------- a record's schedule


def save_record_schedule(
    schedule: RecordSchedule, tenant: str, record_id: str, plan: SchedulePlan | None, *, enabled: bool = True
) -> None:
    """Make a record's schedule what `plan` says (see `sync_schedule`): it puts the record's job on
    the service's jobs queue."""
    settings = load(SchedulerSettings)
    job_input = target_input(schedule.job_input(tenant, record_id))
    target = ScheduleTarget(settings.jobs_queue_arn, settings.scheduler_role_arn, settings.schedule_group, job_input)
    description = schedule.description(tenant, record_id)
    sync_schedule(schedule.name(record_id), plan, target, enabled=enabled, description=description)


def create_record_schedule(
    schedule: RecordSchedule,
    tenant: str,
    record_id: str,
    plan: SchedulePlan | None,
    undo: Callable[[], None],
    *,
    enabled: bool = True,
) -> None:
    """The schedule of a record just stored. When it cannot be made, `undo` removes the record
    again (nothing half-made stays) and the ScheduleUnavailable (503) goes on to the client."""
    try:
        save_record_schedule(schedule, tenant, record_id, plan, enabled=enabled)
    except ScheduleUnavailable:
        try:
            undo()
        except Exception:  # the 503 is what matters; PATCH or DELETE can tidy up
            message = f"{schedule.label.lower()} left without its schedule"
            logger.exception(message, extra={schedule.id_field: record_id})
        raise


def delete_record_schedule(schedule: RecordSchedule, record_id: str) -> None:
    """Delete a record's schedule; one already gone (an at() that fired, an earlier try) is fine."""
    delete_schedule(schedule.name(record_id), load(SchedulerSettings).schedule_group)


def on_firing(
    schedule: RecordSchedule, read: Callable[[str, str], T | None], fires: Callable[[T, Firing], bool]
) -> Callable[[Callable[[T, Firing], None]], RunJob]:
    """Make `act(record, firing)` the job a record's schedule puts on the queue.

    `read(tenant, record id)` finds the record; a firing of one gone, or one `fires` says does not
    fire then (passive, inactive, ended, already sent...), is logged and ignored: a schedule may
    still fire after its record changed. Every log line within names the tenant and the record.
    """

    def decorate(act: Callable[[T, Firing], None]) -> RunJob:
        @wraps(act)
        def run(current: Job) -> None:
            fired = schedule.firing(current.model_dump())
            keys = {"tenant_id": fired.tenant_id, schedule.id_field: fired.record_id}
            with logger.append_context_keys(**keys):
                found = read(fired.tenant_id, fired.record_id)
                if found is None:
                    logger.info(f"{schedule.label.lower()} gone: firing ignored")
                elif not fires(found, fired):
                    extra = {"scheduled_time": fired.scheduled_time}
                    logger.info(f"{schedule.label.lower()} not due: firing ignored", extra=extra)
                else:
                    act(found, fired)

        return run

    return decorate
