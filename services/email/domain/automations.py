"""Automatic emails: API models and the pure rules [002 "automaattinen kampanja luodaan ajastetusti
kohderyhmän ehtojen perusteella, kohderyhmän kontaktit linkitetään siihen ja posti lähetetään"].

An automation mails a template to a target group on a schedule: each firing makes one automatic
campaign for that moment, whose recipients are the group's contacts matching its conditions
then. With `repeats` false a contact is mailed once per automation, ever (a contact that starts
to match later gets it at the next firing); with `repeats` true once per firing.

Idempotency: a firing's campaign id is derived from the automation and the firing's time, and
the campaign's `once_scope` (what a recipient's message id is derived from) is the automation
(once ever) or that campaign (once per firing), so a retried firing makes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from shared.errors import FieldError
from shared.ids import derived_id
from shared.schedules import RecordSchedule, Repeat, local, parse_scheduled_time, scheduled_time
from shared.types import INPUT, OUTPUT, Id, Name200, reject_null

JOB = "automation.run"  # what an automation's schedule puts on the jobs queue
SCHEDULE = RecordSchedule(prefix="automation", job=JOB, id_field="automation_id", label="Automation")


class AutomationTracking(BaseModel):
    model_config = INPUT

    opens: bool = Field(True, description="Count opens (a tracking pixel)")
    clicks: bool = Field(True, description="Count clicks (links go through /t/{token})")


class AutomationCreate(BaseModel):
    model_config = INPUT

    name: Name200
    template_id: Id
    list_type_id: Id = Field(description="The opt-out list the mails belong to")
    target_group_id: Id = Field(description="The directory target group whose matching contacts are mailed")
    schedule: Repeat
    repeats: bool = Field(
        False, description="false: each contact is mailed once per automation, ever; true: once per firing"
    )
    active: bool = Field(True, description="An inactive automation has no schedule and sends nothing")
    tracking: AutomationTracking = Field(default_factory=AutomationTracking)


class AutomationPatch(BaseModel):
    """PATCH: any field; the schedule follows the record."""

    model_config = INPUT

    name: Name200 | None = None
    template_id: Id | None = None
    list_type_id: Id | None = None
    target_group_id: Id | None = None
    schedule: Repeat | None = None
    repeats: bool | None = None
    active: bool | None = None
    tracking: AutomationTracking | None = None

    _not_null = field_validator(
        "name", "template_id", "list_type_id", "target_group_id", "schedule", "repeats", "active", "tracking"
    )(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class Automation(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    template_id: str
    list_type_id: str
    target_group_id: str
    schedule: Repeat
    repeats: bool = False
    active: bool = True
    tracking: AutomationTracking = Field(default_factory=AutomationTracking)
    schedule_name: str = Field(description="The EventBridge Scheduler schedule that fires it (while active)")
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


class AutomationRun(BaseModel):
    """One firing and the automatic campaign it made."""

    model_config = OUTPUT

    id: str = Field(description="The run's id, also its campaign's id")
    automation_id: str
    campaign_id: str
    scheduled_time: datetime
    created_at: datetime
    error: str | None = Field(None, description="Why no campaign was made (e.g. the template was deleted)")
    status: str | None = Field(None, description="The campaign's status")
    counts: dict[str, int] = Field(default_factory=dict, description="The campaign's counters")


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def check(schedule: Repeat, now: datetime) -> list[FieldError]:
    """What is wrong with an automation's schedule beyond its field types (errors name the field)."""
    return schedule.problems(now, "schedule")


def schedule_name(automation_id: str) -> str:
    return SCHEDULE.name(automation_id)


def firing_time(text: str) -> str:
    """A firing's time in one spelling (whole seconds, UTC, `Z`), whatever the scheduler wrote."""
    return scheduled_time(parse_scheduled_time(text))


def campaign_id(automation_id: str, fired_at: str) -> str:
    """The id of a firing's campaign (and of its run): one per automation and firing time."""
    return derived_id(automation_id, firing_time(fired_at))


def once_scope(automation: Automation, run_campaign_id: str) -> str:
    """What recipients' message ids derive from: the automation (once ever) or the firing's campaign."""
    return run_campaign_id if automation.repeats else automation.id


def fires(automation: Automation, moment: datetime) -> bool:
    """Whether a firing at `moment` sends: not when inactive, before its start or after its end."""
    return automation.active and automation.schedule.fires_at(moment)


def campaign_body(automation: Automation, moment: datetime) -> dict[str, Any]:
    """The automatic campaign of one firing, as a client would create it."""
    when = local(moment, automation.schedule.time_zone).strftime("%Y-%m-%d %H:%M")
    return {
        "name": f"{automation.name} {when}"[:200],
        "template_id": automation.template_id,
        "list_type_id": automation.list_type_id,
        "target_group_id": automation.target_group_id,
        "tracking": automation.tracking.model_dump(),
    }


def origin(automation_id: str, fired_at: str) -> dict[str, str]:
    return {"automation_id": automation_id, "scheduled_time": firing_time(fired_at)}
