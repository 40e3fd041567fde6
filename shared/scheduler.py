"""EventBridge Scheduler schedules that put jobs on a service's jobs queue (the calls; what a
schedule is lives in schedules.py).

A schedule is a trigger derived from a record, written after the record commits: `sync_schedule`
creates, updates or deletes it to match the record, and `delete_schedule` ignores one already gone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import DomainError
from shared.observability import logger
from shared.schedules import SCHEDULED_TIME_PLACEHOLDER, SchedulePlan


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
