"""Workflows (issue 23): what a client sends and gets back, and the rules of a definition.

A workflow is a trigger (an entity type created, updated, or one field changed, optionally from
and/or to a value), conditions in the target groups' language (`shared/conditions.py`), and ordered actions.
Conditions and a trigger's field name the fields as target groups do: a contact's as they are, an
account's as `account.<field>`; a contact workflow reads the contact's own fields only (its event
carries no account), an account workflow the account's only.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError, field_validator

from shared.conditions import ACCOUNT_PREFIX, CONDITION_FIELDS, Condition, Conditions, Equals, FieldType, Match
from shared.contracts.workflows import REQUIRED_FIELDS, SETTABLE_ACCOUNT_FIELDS, SETTABLE_CONTACT_FIELDS
from shared.errors import FieldError, register_union_tags
from shared.types import INPUT, OUTPUT, Code, Id, Name200, input_config, reject_null

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Entity = Literal["contact", "account"]
On = Literal["created", "updated", "field_changed"]
Status = Literal["active", "paused"]
MAX_ACTIONS = 10
MAX_DELAY_MINUTES = 60 * 24 * 90  # 90 days, the runs' retention
Delay = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_DELAY_MINUTES,
        description="Minutes between the trigger and the actions (0: at once; at most 90 days). The actions then "
        "follow the revision the run started with, and a workflow paused or deleted meanwhile stops the run",
    ),
]
SMS_TEXT_MAX = 1600
_DATE_KINDS = (FieldType.date, FieldType.datetime)


# The request schema's enums (JSON values: `json_schema_extra` takes a list[JsonValue]).
SETTABLE: list[Any] = [*SETTABLE_CONTACT_FIELDS, *(ACCOUNT_PREFIX + f for f in SETTABLE_ACCOUNT_FIELDS)]
DATE_FIELDS: list[Any] = sorted(f for f, kind in CONDITION_FIELDS.items() if kind in _DATE_KINDS)


class DelayUntil(BaseModel):
    """Wait until a date field of the record (its value when the run starts), moved by an offset."""

    model_config = INPUT

    field: str = Field(
        json_schema_extra={"enum": DATE_FIELDS},
        description="A date field of the workflow's entity (a contact's as it is: "
        f"{', '.join(sorted(f for f, k in CONDITION_FIELDS.items() if k in _DATE_KINDS and '.' not in f))}; "
        "an account's as `account.<field>`); a date is its day's start in UTC",
    )
    offset_minutes: Annotated[int, Field(ge=-MAX_DELAY_MINUTES, le=MAX_DELAY_MINUTES)] = Field(
        0, description="Minutes after the field's time (negative: before it), at most 90 days either way"
    )


# `field`, `to` and `from` belong to `field_changed` alone (`problems` refuses them elsewhere, and a
# `field_changed` without `field`); the schema states it. Null is what a response carries for them.
_TRIGGER_RULE = {
    "anyOf": [
        {"properties": {"on": {"const": "field_changed"}, "field": {"type": "string"}}, "required": ["field"]},
        {
            "properties": {
                "on": {"enum": ["created", "updated"]},
                "field": {"type": "null"},
                "to": {"type": "null"},
                "from": {"type": "null"},
            }
        },
    ]
}


class WorkflowTrigger(BaseModel):
    """`from` is a Python keyword: the attribute is `from_`, sent, stored and shown as `from`."""

    model_config = {**input_config(**_TRIGGER_RULE), "serialize_by_alias": True}

    entity: Entity = Field(description="The records it watches: `contact.*` or `account.*` events")
    on: On = Field(
        description="`created`, `updated` (any change), or `field_changed`: `field` is among the event's changed "
        "fields (with `from` and/or `to`: its value before and/or after the change as well)"
    )
    field: str | None = Field(
        None,
        description="With `field_changed` (required there, else refused): a condition field of the entity "
        "(a contact's as it is, an account's as `account.<field>`)",
    )
    to: str | None = Field(
        None,
        max_length=200,
        description="With `field_changed`: only when the field's new value equals this (as the `equals` condition)",
    )
    from_: str | None = Field(
        None,
        alias="from",
        max_length=200,
        description="With `field_changed`: only when the field's old value (the event's `changes`) equals this "
        "(as the `equals` condition); an update whose event lists no change of the field does not fire it",
    )


class SendEmailAction(BaseModel):
    model_config = INPUT

    type: Literal["send_email"]
    template_id: Id = Field(description="An email template of the tenant, rendered with the record's fields")


class SendSmsAction(BaseModel):
    model_config = INPUT

    type: Literal["send_sms"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=SMS_TEXT_MAX)] = Field(
        description="The text, with tags as in `POST /sms/messages`; contact workflows only"
    )
    number_field: Literal["mobile", "phone"] = "mobile"


class SetFieldAction(BaseModel):
    model_config = INPUT

    type: Literal["set_field"]
    field: str = Field(
        json_schema_extra={"enum": SETTABLE},
        description="A field the workflow's entity lets a workflow set (a contact's as it is: "
        f"{', '.join(sorted(SETTABLE_CONTACT_FIELDS))}; an account's as `account.<field>`: "
        f"{', '.join(sorted(SETTABLE_ACCOUNT_FIELDS))}); the directory applies it with its own rules "
        "(picklists, formats) as the workflow's creator",
    )
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        description="The new value (a date field's as YYYY-MM-DD); null clears the field (not `account.name`, "
        "`account.status`)"
    )


class CreateTaskAction(BaseModel):
    model_config = INPUT

    type: Literal["create_task"]
    activity_type: Code = Field(
        "task", description="An active activity type of the tenant; one of kind event makes a calendar event"
    )
    subject: Name200
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)] | None = None
    due_in_minutes: Annotated[int, Field(ge=0, le=MAX_DELAY_MINUTES)] = Field(
        0, description="A task is due (an event starts) this long after the action runs"
    )
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = Field(30, description="An event's length")


class CallWebhookAction(BaseModel):
    model_config = INPUT

    type: Literal["call_webhook"]
    endpoint_id: Id = Field(
        description="A webhook endpoint of the tenant (`/webhooks/endpoints`): it receives a signed "
        "`webhook.workflow_call` message whatever its `event_types`; one deleted or disabled by then gets nothing"
    )


Action = Annotated[
    SendEmailAction | SendSmsAction | SetFieldAction | CreateTaskAction | CallWebhookAction,
    Field(discriminator="type"),
]
register_union_tags({"send_email", "send_sms", "set_field", "create_task", "call_webhook"})


DELAY_UNTIL = (
    "Instead of `delay_minutes` (not with it): the actions run at a date field of the record, as the "
    "event that started the run showed it, plus the offset; a run whose record has no value there stops "
    "(`no_date`), one whose time has passed already stops (`date_passed`)"
)


class WorkflowCreate(BaseModel):
    model_config = INPUT

    name: Name200
    description: Description = ""
    status: Status = Field("paused", description="`active` starts runs; a new workflow is paused unless asked")
    trigger: WorkflowTrigger
    conditions: Conditions = Field(
        default_factory=list,
        description="Which records it enrolls (empty: every record the trigger names); not `in_classification_type`",
    )
    match: Match = "all"
    delay_minutes: Delay = 0
    delay_until: DelayUntil | None = Field(None, description=DELAY_UNTIL)
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS, description="Run in order")


class WorkflowUpdate(BaseModel):
    """A merge patch: what it names replaces the stored value; a change of anything but `status`
    makes a new revision (runs already started keep theirs)."""

    model_config = INPUT

    name: Name200 | None = None
    description: Description | None = None
    status: Status | None = None
    trigger: WorkflowTrigger | None = None
    conditions: Conditions | None = None
    match: Match | None = None
    delay_minutes: Delay | None = None
    delay_until: DelayUntil | None = Field(None, description=f"{DELAY_UNTIL}; null takes it out")
    actions: list[Action] | None = Field(None, min_length=1, max_length=MAX_ACTIONS)

    _not_null = field_validator(
        "name", "description", "status", "trigger", "conditions", "match", "delay_minutes", "actions"
    )(reject_null)  # not delay_until: null takes it out


class Workflow(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    description: str = ""
    status: Status
    trigger: WorkflowTrigger
    conditions: list[Condition] = Field(default_factory=list)
    match: Match = "all"
    delay_minutes: int = 0
    delay_until: DelayUntil | None = None
    actions: list[Action]
    revision: int = Field(description="The definition's revision: each change but `status` makes the next")
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


class WorkflowSummary(BaseModel):
    """A workflow in a list: without its description, conditions and actions (`GET /workflows/{id}`)."""

    model_config = OUTPUT

    id: str
    name: str
    status: Status
    trigger: WorkflowTrigger
    delay_minutes: int = 0
    delay_until: DelayUntil | None = None
    revision: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


DEFINITION = ("name", "description", "trigger", "conditions", "match", "delay_minutes", "delay_until", "actions")


def _entity_fields(entity: str) -> set[str]:
    if entity == "account":
        return {f for f in CONDITION_FIELDS if f.startswith(ACCOUNT_PREFIX)}
    return {f for f in CONDITION_FIELDS if not f.startswith(ACCOUNT_PREFIX)}


def _trigger_value_problems(trigger: dict[str, Any]) -> list[FieldError]:
    """`to` and `from` must each be a value of the trigger's field."""
    errors = []
    for side in ("to", "from"):
        if trigger.get(side) is None:
            continue
        try:
            Equals(field=trigger["field"], op="equals", value=trigger[side])
        except ValidationError:
            message = "not a value of the field"
            errors.append(FieldError(field=f"trigger.{side}", message=message, code="value_of_field"))
    return errors


def problems(definition: dict[str, Any]) -> list[FieldError]:
    """What the models alone cannot say: the trigger's and conditions' fields fit its entity."""
    trigger = definition["trigger"]
    fields = _entity_fields(trigger["entity"])
    errors: list[FieldError] = []
    if trigger["on"] == "field_changed" and trigger.get("field") not in fields:
        message = f"a {trigger['entity']} field"
        errors.append(FieldError(field="trigger.field", message=message, code="field_of_entity"))
    elif trigger["on"] == "field_changed":
        errors += _trigger_value_problems(trigger)
    if trigger["on"] != "field_changed" and (trigger.get("field") or trigger.get("to") or trigger.get("from")):
        errors.append(FieldError(field="trigger.field", message="only with field_changed", code="field_changed_only"))
    for n, condition in enumerate(definition.get("conditions") or []):
        if condition.get("op") == "in_classification_type":  # needs the directory's class map
            message = "not in workflows"
            errors.append(FieldError(field=f"conditions.{n}.op", message=message, code="not_in_workflows"))
        elif "field" in condition and condition["field"] not in fields:
            message = f"not a field of the {trigger['entity']}"
            errors.append(FieldError(field=f"conditions.{n}.field", message=message, code="field_of_entity"))
    errors += _delay_problems(trigger["entity"], definition)
    for n, action in enumerate(definition["actions"]):
        if action["type"] == "send_sms" and trigger["entity"] != "contact":
            errors.append(FieldError(field=f"actions.{n}.type", message="contacts only", code="contacts_only"))
        elif action["type"] == "set_field":
            errors += _set_field_problems(f"actions.{n}", trigger["entity"], action)
    return errors


def date_fields(entity: str) -> set[str]:
    """The date and time fields of the entity, as a delay names them."""
    return {f for f in _entity_fields(entity) if CONDITION_FIELDS[f] in _DATE_KINDS}


def _delay_problems(entity: str, definition: dict[str, Any]) -> list[FieldError]:
    until = definition.get("delay_until")
    if not until:
        return []
    if definition.get("delay_minutes"):
        return [FieldError(field="delay_until", message="not with delay_minutes", code="one_delay")]
    if until["field"] not in date_fields(entity):
        return [FieldError(field="delay_until.field", message=f"a date field of the {entity}", code="date_field")]
    return []


_VALUE_OF_KIND: dict[FieldType, TypeAdapter[Any]] = {
    FieldType.code: TypeAdapter(Code),
    FieldType.id: TypeAdapter(Id),
    FieldType.date: TypeAdapter(date),
}


def settable_fields(entity: str) -> dict[str, FieldType]:
    """The fields a workflow of the entity may set, as its actions name them."""
    if entity == "account":
        return {ACCOUNT_PREFIX + name: kind for name, kind in SETTABLE_ACCOUNT_FIELDS.items()}
    return dict(SETTABLE_CONTACT_FIELDS)


def _set_field_problems(at: str, entity: str, action: dict[str, Any]) -> list[FieldError]:
    """The field is one the entity lets a workflow set, the value one of its kind (the directory
    checks it again with the tenant's picklists when it applies it)."""
    kind = settable_fields(entity).get(action["field"])
    if kind is None:
        return [FieldError(field=f"{at}.field", message=f"not a settable {entity} field", code="not_settable")]
    value = action.get("value")
    if value is None:
        if action["field"] in REQUIRED_FIELDS:
            return [FieldError(field=f"{at}.value", message="the field cannot be cleared", code="not_clearable")]
        return []
    adapter = _VALUE_OF_KIND.get(kind)
    try:
        if adapter is not None:
            adapter.validate_python(value)
    except ValidationError:
        return [FieldError(field=f"{at}.value", message=f"not a {kind.value} value", code="value_of_field")]
    return []


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------

RunStatus = Literal["waiting", "completed", "stopped"]
StepOutcome = Literal["requested", "skipped", "refused"]


class WorkflowStartingEvent(BaseModel):
    model_config = OUTPUT

    id: str
    type: str
    occurred_at: datetime
    depth: int = Field(description="Workflow actions in its causation chain before it")


class WorkflowStep(BaseModel):
    model_config = OUTPUT

    index: int
    type: str
    outcome: StepOutcome = Field(
        description="`requested`: its command event was published; `skipped`: see reason; `refused`: the "
        "service that owns what it changes refused the command (its reason)"
    )
    reason: str | None = None
    event_id: str | None = Field(
        None,
        description="The command event it published (email.send_requested, sms.send_requested, "
        "contact.update_requested / account.update_requested, activity.create_requested, webhook.call_requested)",
    )


class WorkflowRun(BaseModel):
    model_config = OUTPUT

    id: str
    workflow_id: str
    revision: int = Field(description="The workflow's revision the run follows")
    entity: Entity
    record_id: str
    event: WorkflowStartingEvent
    status: RunStatus
    reason: str | None = Field(
        None,
        description="Why a run stopped: `loop`, `chain_too_deep`, `no_date` or `date_passed` (`delay_until`), "
        "or while it waited `paused`, `deleted`, `erased` (the contact), `merged` (its record was merged into "
        "one already waiting in the workflow)",
    )
    merged_from: str | None = Field(
        None, description="The record the run started for, when that was merged into `record_id` since"
    )
    steps: list[WorkflowStep] = Field(default_factory=list)
    started_at: datetime
    due_at: datetime | None = Field(None, description="A waiting run's: when its actions run (its delay's end)")
    finished_at: datetime | None = None
