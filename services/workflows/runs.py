"""Runs (issue 23, items 2-3): an entity event starts a run of each active workflow it triggers.

The consumer reads the tenant's active item once a batch (`workflows.ACTIVE`; none: the event costs
nothing more). A run's id is derived from the workflow and the event, so a record is enrolled once
per trigger firing; the handler is a `together` one (shared/batch_scope.py): its writes are puts if
absent (the run, its command events with derived ids), so a batch's runs commit in one transaction
with their markers, and a redelivered event starts nothing twice.

An action is a command event the owning service applies with its own rules (`email.send_requested`,
`sms.send_requested`, `contact.update_requested` / `account.update_requested`,
`activity.create_requested`, `webhook.call_requested`; the last three act as the workflow's creator),
carrying the causation chain (shared/events.py) with this workflow and record on its last link. A
run whose event's chain already holds `CHAIN_LIMIT` workflow actions, or an action of this very
workflow for this record, is recorded as stopped (`chain_too_deep`, `loop`) and does nothing; so is
one whose `delay_until` date is missing or past (`no_date`, `date_passed`).

Records: kind "run", id = derived_id(workflow id, event id), data {workflow_id, revision, entity,
record_id, event {id, type, occurred_at, depth}, status waiting|completed|stopped, reason, steps
[{index, type, outcome requested|skipped, reason, event_id}], started_at, due_at, waiting}; listed
under its workflow and its record (store.py); `expires_at` = due (or started) + RETENTION.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from services.workflows.store import ACTIVE, ACTIVE_ID, Record, WorkflowsStore, revision_id
from services.workflows.subscriptions import subscribe
from shared import batch_scope, clock
from shared.auth import Role
from shared.conditions import ACCOUNT_PREFIX, Equals, holds, is_contactable, parse_conditions
from shared.contracts.audience import ActingUser
from shared.contracts.directory import RecordChanged
from shared.contracts.messaging import EmailSendRequested, SmsSendRequested
from shared.contracts.workflows import ActivityCreateRequested, RecordUpdateRequested, WebhookCallRequested
from shared.events import Actor, Cause, Change, Envelope, chain_of, new_event
from shared.ids import derived_id
from shared.merges import survivor_of
from shared.observability import logger
from shared.store import AlreadyApplied, UnitOfWork, record_key, tenant_key

RUN = "run"
CHAIN_LIMIT = 5  # workflow actions in one causation chain; a run the next would start stops (`chain_too_deep`)
RETENTION = timedelta(days=90)
REQUESTER = "workflows"
ACTOR = Actor(type="service", id="workflows")
STORE = WorkflowsStore()
TRIGGERS = ["contact.created", "contact.updated", "account.created", "account.updated"]


def active_workflows(tenant: str) -> list[dict[str, Any]]:
    """The tenant's active workflows (their definitions), read once a consumer batch."""

    def read() -> list[dict[str, Any]]:
        try:
            item = Record.get(record_key(tenant, ACTIVE, ACTIVE_ID), ACTIVE.upper(), consistent_read=True)
        except Record.DoesNotExist:
            return []
        workflows = item.data.get("workflows") or {}
        return [workflows[k] for k in sorted(workflows)]

    return batch_scope.kept(("workflows.active", tenant), read)


# ---------------------------------------------------------------------------------------------
# Which workflows an event triggers (pure)
# ---------------------------------------------------------------------------------------------


def _views(entity: str, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The record as the conditions read it: a contact as the contact, an account as `account.*`."""
    return (record, None) if entity == "contact" else ({}, record)


def _field_changed(trigger: dict[str, Any], payload: RecordChanged, changes: list[Change]) -> bool:
    field = str(trigger["field"]).removeprefix(ACCOUNT_PREFIX)
    names = {field.split(".")[0], field.replace(".", "_")}
    if not names & set(payload.changed):
        return False
    if trigger.get("from") is not None and not _was(trigger, payload.record, changes, names):
        return False
    if trigger.get("to") is None:
        return True
    condition = Equals(field=trigger["field"], op="equals", value=trigger["to"])
    return holds(condition, *_views(trigger["entity"], payload.record))


def _was(trigger: dict[str, Any], record: dict[str, Any], changes: list[Change], names: set[str]) -> bool:
    """Whether the field's old value (the envelope's `changes`) equals the trigger's `from`: the
    record as it was before, for that field, read as the `equals` condition reads the record."""
    change = next((c for c in changes if c.field in names), None)
    if change is None:  # no old value to compare (e.g. an event over the changes' cap): not fired
        return False
    before = {**record, change.field: change.old}
    condition = Equals(field=trigger["field"], op="equals", value=trigger["from"])
    return holds(condition, *_views(trigger["entity"], before))


def triggered(
    workflow: dict[str, Any], event_type: str, payload: RecordChanged, changes: list[Change] | None = None
) -> bool:
    """Whether the event fires the workflow's trigger and its record meets the conditions;
    `changes`: the envelope's (old -> new), which a `from` on the trigger reads."""
    entity, verb = event_type.split(".", 1)
    trigger = workflow["trigger"]
    if trigger["entity"] != entity:
        return False
    if entity == "contact" and not is_contactable(payload.record):
        return False
    fired = verb == trigger["on"] or (
        trigger["on"] == "field_changed" and verb == "updated" and _field_changed(trigger, payload, changes or [])
    )
    if not fired:
        return False
    conditions = parse_conditions(workflow.get("conditions") or [])
    if not conditions:
        return True
    results = (holds(c, *_views(entity, payload.record)) for c in conditions)
    return all(results) if workflow.get("match", "all") == "all" else any(results)


def stop_reason(causation: list[Cause], workflow_id: str, record_id: str) -> str | None:
    """Why a run must not act: its own action for this record earlier in the chain, or a chain
    already `CHAIN_LIMIT` workflow actions deep."""
    if any(c.automation_id == workflow_id and c.record_id == record_id for c in causation):
        return "loop"
    if sum(1 for c in causation if c.automation_id) >= CHAIN_LIMIT:
        return "chain_too_deep"
    return None


def _moment(value: Any) -> datetime | None:
    """A record's date (its day's start in UTC) or time, as its event carries it; None when it has none."""
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def due_of(workflow: dict[str, Any], record: dict[str, Any], now: datetime) -> tuple[datetime | None, str | None]:
    """When a run's actions are due (None: at once), or why it stops instead (`no_date`, `date_passed`)."""
    until = workflow.get("delay_until")
    if until:
        moment = _moment(record.get(str(until["field"]).removeprefix(ACCOUNT_PREFIX)))
        if moment is None:
            return None, "no_date"
        due = moment + timedelta(minutes=int(until.get("offset_minutes") or 0))
        return (due, None) if due > now else (None, "date_passed")
    delay = int(workflow.get("delay_minutes") or 0)
    return (now + timedelta(minutes=delay) if delay else None), None


# ---------------------------------------------------------------------------------------------
# Actions: one command event each
# ---------------------------------------------------------------------------------------------


def _name(record: dict[str, Any]) -> str | None:
    """A contact's first and last name, an account's name; None when it has none."""
    name = " ".join(str(record.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    return name or str(record.get("name") or "").strip() or None


@dataclass(frozen=True)
class Step:
    """What an action's command is made of besides the action and the record."""

    workflow: dict[str, Any]
    entity: str
    run_id: str
    request_id: str
    causation: list[Cause]


def _acting(workflow: dict[str, Any]) -> ActingUser:
    """Whom an action acts as: the workflow's creator, with the admin role they defined it with
    (docs/decisions.md); a definition from before creators were kept acts as this service."""
    return ActingUser(user_id=str(workflow.get("created_by") or f"service:{REQUESTER}"), role=Role.ADMIN)


def _owner_id(workflow: dict[str, Any], record: dict[str, Any]) -> str:
    """The user a task is for: the record's owner, or the workflow's creator when a group owns it."""
    owner = record.get("owner") or {}
    if owner.get("type") == "user" and owner.get("id"):
        return str(owner["id"])
    if workflow.get("created_by"):
        return str(workflow["created_by"])
    raise ValueError("no_owner")


def _set_field(action: dict[str, Any], context: Step, record: dict[str, Any]) -> tuple[str, BaseModel]:
    changes = {str(action["field"]).removeprefix(ACCOUNT_PREFIX): action.get("value")}
    payload = RecordUpdateRequested(
        request_id=context.request_id, id=str(record["id"]), changes=changes, acting=_acting(context.workflow)
    )
    return f"{context.entity}.update_requested", payload


def _create_task(action: dict[str, Any], context: Step, record: dict[str, Any]) -> tuple[str, BaseModel]:
    entity, workflow = context.entity, context.workflow
    return "activity.create_requested", ActivityCreateRequested(
        request_id=context.request_id,
        activity_type=action.get("activity_type") or "task",
        subject=action["subject"],
        description=action.get("description"),
        at=clock.now() + timedelta(minutes=int(action.get("due_in_minutes") or 0)),
        duration_minutes=int(action.get("duration_minutes") or 30),
        owner_id=_owner_id(workflow, record),
        contact_id=str(record["id"]) if entity == "contact" else None,
        account_id=str(record["id"]) if entity == "account" else record.get("account_id"),
        source_id=str(workflow["id"]),
        acting=_acting(workflow),
    )


def _call_webhook(action: dict[str, Any], context: Step, record: dict[str, Any]) -> tuple[str, BaseModel]:
    trigger = context.causation[-1] if context.causation else None
    return "webhook.call_requested", WebhookCallRequested(
        request_id=context.request_id,
        endpoint_id=action["endpoint_id"],
        workflow_id=str(context.workflow["id"]),
        run_id=context.run_id,
        entity=context.entity,  # type: ignore[arg-type]
        record_id=str(record["id"]),
        record=record,
        trigger_event_id=trigger.event_id if trigger else "",
        trigger_event_type=trigger.event_type if trigger else "",
    )


def _command(action: dict[str, Any], context: Step, record: dict[str, Any]) -> tuple[str, BaseModel]:
    """The action's command event type and payload; ValueError (its reason) when it cannot be asked."""
    entity, request_id = context.entity, context.request_id
    if action["type"] == "set_field":
        return _set_field(action, context, record)
    if action["type"] == "create_task":
        return _create_task(action, context, record)
    if action["type"] == "call_webhook":
        return _call_webhook(action, context, record)
    if action["type"] == "send_email":
        if not record.get("email"):
            raise ValueError("no_email")
        return "email.send_requested", EmailSendRequested(
            request_id=request_id,
            requester=REQUESTER,
            to=str(record["email"]),
            to_name=_name(record),
            contact_id=record.get("id") if entity == "contact" else None,
            account_id=record.get("id") if entity == "account" else record.get("account_id"),
            template_id=action["template_id"],
            data=record,
        )
    number_field = action.get("number_field", "mobile")
    if not record.get(number_field):
        raise ValueError(f"no_{number_field}")
    return "sms.send_requested", SmsSendRequested(
        request_id=request_id, contact_id=str(record["id"]), number_field=number_field, text=action["text"]
    )


def steps_of(
    tenant: str,
    cause: tuple[str, list[Cause]],
    uow: UnitOfWork,
    workflow: dict[str, Any],
    run_id: str,
    record: dict[str, Any],
) -> list[dict[str, Any]]:
    """Publish the workflow's actions for the record (in `uow`); each step's outcome.

    `cause`: the correlation id and the causation chain the command events carry."""
    entity = workflow["trigger"]["entity"]
    correlation_id, causation = cause
    steps: list[dict[str, Any]] = []
    for index, action in enumerate(workflow["actions"]):
        step: dict[str, Any] = {"index": index, "type": action["type"]}
        context = Step(workflow, entity, run_id, f"workflow:{run_id}:{index}", causation)
        try:
            event_type, payload = _command(action, context, record)
        except ValidationError:  # the record's values do not make a valid request (an address too long ...)
            steps.append({**step, "outcome": "skipped", "reason": "invalid_request"})
            continue
        except ValueError as exc:
            steps.append({**step, "outcome": "skipped", "reason": str(exc)})
            continue
        event = new_event(
            event_type,
            tenant,
            payload,
            actor=ACTOR,
            correlation_id=correlation_id,
            event_id=derived_id(run_id, str(index)),
            causation=causation,
        )
        uow.publish(event)
        steps.append({**step, "outcome": "requested", "event_id": event.id})
    return steps


def _run(envelope: Envelope, uow: UnitOfWork, workflow: dict[str, Any], record: dict[str, Any]) -> None:
    tenant, record_id = envelope.tenant_id, str(record["id"])
    run_id = derived_id(workflow["id"], envelope.id)
    reason = stop_reason(envelope.causation, workflow["id"], record_id)
    now = clock.now()
    cause = (envelope.correlation_id, chain_of(envelope, workflow["id"], record_id))
    data: dict[str, Any] = {
        "workflow_id": workflow["id"],
        "revision": workflow["revision"],
        "revision_id": revision_id(workflow["id"], workflow["revision"]),
        "entity": workflow["trigger"]["entity"],
        "record_id": record_id,
        "event": {
            "id": envelope.id,
            "type": envelope.type,
            "occurred_at": envelope.occurred_at.isoformat(),
            "depth": sum(1 for c in envelope.causation if c.automation_id),
        },
        "started_at": now.isoformat(),
    }
    due_at = None
    if reason is None:
        due_at, reason = due_of(workflow, record, now)
    if reason:
        data.update(status="stopped", reason=reason, steps=[], finished_at=now.isoformat())
        logger.info("workflow run stopped", extra={"workflow_id": workflow["id"], "reason": reason})
    elif due_at is not None:
        # what the actions need when the delay is over: the record as the event showed it (taken out
        # by the contact's erasure), and the chain the command events carry on
        waiting = {"record": record, "correlation_id": cause[0], "causation": [c.model_dump() for c in cause[1]]}
        data.update(status="waiting", steps=[], due_at=due_at.isoformat(), waiting=waiting)
    else:
        steps = steps_of(tenant, cause, uow, workflow, run_id, record)
        data.update(status="completed", steps=steps, finished_at=now.isoformat())
    run = STORE.new(tenant, RUN, run_id, data)
    order = f"{clock.iso(now)}#{run_id}"
    run.gsi1pk, run.gsi1sk = tenant_key(tenant, "WORKFLOW", workflow["id"], "RUN"), order
    run.gsi2pk, run.gsi2sk = tenant_key(tenant, "RECORD", record_id, "RUN"), order
    run.expires_at = (due_at or now) + RETENTION  # type: ignore[assignment]
    if due_at is not None:
        run.set_due(tenant, clock.iso(due_at))
    STORE.add(uow, run, on_conflict=AlreadyApplied)


@batch_scope.together  # puts if absent only: a batch's runs commit in one transaction with their markers
def start_runs(envelope: Envelope, uow: UnitOfWork) -> None:
    workflows = active_workflows(envelope.tenant_id)
    if not workflows:
        return
    payload = RecordChanged.model_validate(envelope.data)
    fired = [w for w in workflows if triggered(w, envelope.type, payload, envelope.changes)]
    entity = envelope.type.split(".", 1)[0]
    if fired and survivor_of(STORE, envelope.tenant_id, entity, payload.id):
        return  # a late event about a merged record (merges.py): its runs are the survivor's now
    for workflow in fired:
        _run(envelope, uow, workflow, {**payload.record, "id": payload.id})


for _type in TRIGGERS:
    subscribe(_type)(start_runs)
