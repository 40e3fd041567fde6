"""The commands a workflow's actions send to the services that own what they change (issue 23).

The workflows service decides that something should happen; the owning service applies it with its
own rules and permissions, once (its consumer's dedupe marker commits with its writes; the command's
id is derived from the run and the step, so a redelivered or re-sent command applies once):

- `contact.update_requested` / `account.update_requested`: the directory changes fields of the
  record as `acting` would through the API (its validation, picklists and the kernel's permission
  check) and publishes the ordinary `contact.updated` / `account.updated`, which carries the
  causation chain (shared/events.py) back to the workflows' loop guard;
- `activity.create_requested`: the activities service makes a task (or, for an activity type of
  kind event, a calendar event) for `owner_id`, as `acting` would through the API;
- `webhook.call_requested`: the webhooks service delivers the record to one endpoint of the tenant,
  signed and retried as every webhook message (a `webhook.workflow_call` message).

None of them is offered to webhooks (infra/docs.py `INTERNAL_EVENTS`): they ask, they do not tell.

A command the owner refuses (a value its rules do not take, a record gone or not the acting user's
to change, an endpoint deleted) is answered once with `<command's entity>.<verb>_refused`
(`CommandRefused`, committed with the owner's dedupe marker), which the workflows service records
as the step's outcome; asking again would be refused again, so nothing retries it.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from shared.conditions import ACCOUNT_FIELDS, CONTACT_FIELDS, FieldType
from shared.contracts.audience import ActingUser
from shared.events import Actor, Envelope, catalogue, new_event
from shared.ids import derived_id

PRODUCER = "workflows"

# The fields a workflow may set, by entity, typed as the conditions type them: what the directory's
# PATCH takes for them (the directory checks the value again, with its picklists). References other
# than a user (account, classes, owner) and lists are not settable by a workflow.
SETTABLE_CONTACT_FIELDS: dict[str, FieldType] = {
    name: CONTACT_FIELDS[name]
    for name in (
        *("first_name", "last_name", "email", "phone", "mobile", "department", "job_title", "category"),
        *("region", "benefit_status", "sales_status", "account_manager_id", "consent_date"),
    )
}
SETTABLE_ACCOUNT_FIELDS: dict[str, FieldType] = {
    name: ACCOUNT_FIELDS[name]
    for name in (
        *("name", "status", "email", "phone", "website", "street", "postal_code", "city", "country"),
        "account_manager_id",
    )
}
# Fields a record cannot be without: a workflow may change them, not clear them.
REQUIRED_FIELDS = frozenset({"account.name", "account.status"})


class RecordUpdateRequested(BaseModel):
    """Change fields of one contact or account (the event type names which), as `acting` would."""

    request_id: str = Field(description="The requester's reference (a workflow run's step)")
    id: str = Field(description="The contact's or account's id")
    changes: dict[str, Any] = Field(description="Field -> new value (null clears), as the directory's PATCH takes")
    acting: ActingUser = Field(description="The user the change is made as: their permissions apply")


class ActivityCreateRequested(BaseModel):
    """Make one activity for a user: a task due `at`, or an event from `at` for `duration_minutes`
    when the tenant's activity type is of kind event."""

    request_id: str = Field(description="The requester's reference; the activity's id is derived from the event's")
    activity_type: str = Field(description="An active activity type of the tenant")
    subject: str
    description: str | None = None
    at: datetime = Field(description="A task's due time, an event's start")
    duration_minutes: int = Field(30, description="An event's length")
    owner_id: str = Field(description="The responsible user")
    contact_id: str | None = None
    account_id: str | None = None
    source_id: str | None = Field(None, description="What made it (a workflow's id): the activity's `source_id`")
    acting: ActingUser = Field(description="The user it is made as: their permissions apply")


class WebhookCallRequested(BaseModel):
    """Deliver a record to one endpoint of the tenant, as a `webhook.workflow_call` message."""

    request_id: str = Field(description="The requester's reference (a workflow run's step)")
    endpoint_id: str
    workflow_id: str
    run_id: str
    entity: Literal["contact", "account"]
    record_id: str
    record: dict[str, Any] = Field(description="The record as the event that started the run showed it")
    trigger_event_id: str
    trigger_event_type: str


class CommandRefused(BaseModel):
    """The owner refused a command: what asked (`request_id`), which command, and why."""

    request_id: str = Field(description="The command's `request_id` (a workflow run's step)")
    command_id: str = Field(description="The command event's id")
    reason: str = Field(max_length=500, description="Why, as the owner's rules said it")
    field: str | None = Field(None, description="The field refused, when one was")


def refusal(command: Envelope, request_id: str, error: Exception) -> Envelope:
    """The owner's answer to a command it refuses with `error` (a domain error or pydantic's): the
    error's detail and the first field it names; one id per command, so a redelivery makes no second."""
    if isinstance(error, ValidationError):
        fields = [".".join(map(str, e["loc"])) for e in error.errors()]
    else:
        fields = [e.field for e in getattr(error, "errors", None) or []]
    reason = str(getattr(error, "detail", None) or error)[:500]
    payload = CommandRefused(
        request_id=request_id, command_id=command.id, reason=reason, field=next(iter(fields), None)
    )
    event_type, producer = REFUSALS[command.type]
    actor = Actor(type="service", id=producer)
    return new_event(event_type, command.tenant_id, payload, actor=actor, event_id=derived_id(command.id, "refused"))


REFUSALS: dict[str, tuple[str, str]] = {
    "contact.update_requested": ("contact.update_refused", "directory"),
    "account.update_requested": ("account.update_refused", "directory"),
    "activity.create_requested": ("activity.create_refused", "activities"),
    "webhook.call_requested": ("webhook.call_refused", "webhooks"),
}

_SPECS: list[tuple[str, type[BaseModel], str]] = [
    ("contact.update_requested", RecordUpdateRequested, "A workflow asks the directory to change a contact's fields."),
    ("account.update_requested", RecordUpdateRequested, "A workflow asks the directory to change an account's fields."),
    ("activity.create_requested", ActivityCreateRequested, "A workflow asks for a task or event for a user."),
    ("webhook.call_requested", WebhookCallRequested, "A workflow asks for a record to be sent to one endpoint."),
]

for _type, _payload, _description in _SPECS:
    catalogue.register(_type, _payload, producer=PRODUCER, description=_description)
for _command, (_type, _producer) in REFUSALS.items():
    catalogue.register(
        _type, CommandRefused, producer=_producer, description=f"The {_producer} service refused a {_command}."
    )
