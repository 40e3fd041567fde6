"""Workflows (issue 23, item 1): admins create, read, list, change, pause and delete them.

Records:
- kind "workflow", id = a new id, data {name, description, status, trigger, conditions, match,
  delay_minutes, delay_until, actions, revision, created_by, created_at, updated_at}. A change of the
  definition (anything but `status`) makes the next `revision` and keeps the one before as a
  "revision" record.
- kind "revision", id `<workflow id>.<revision>`: the definition a run follows (runs name it).
- kind "active", id "workflows": every active workflow's definition by id, the one item the
  consumer reads per tenant and batch (none: nothing to do). Every command that changes a workflow
  rewrites it in the same transaction, under its version (a lost race is tried again).

Every change publishes `workflow.created` / `workflow.updated` (with its fields old -> new) /
`workflow.deleted` (events.py) in its transaction; a PATCH that changes nothing publishes nothing.
"""

from datetime import datetime
from typing import Any

from services.workflows.domain.workflows import DEFINITION, Workflow, WorkflowCreate, WorkflowUpdate, problems
from services.workflows.events import WorkflowChanged
from services.workflows.service import Caller
from services.workflows.store import ACTIVE, ACTIVE_ID, Record, revision_id
from shared import clock
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.events import changes_of
from shared.ids import new_id
from shared.pagination import Page
from shared.service import kind_page, model_of
from shared.store import UnitOfWork, run_with_retries

WORKFLOW = "workflow"
REVISION = "revision"
MAX_ACTIVE = 50  # the active item holds them all (DynamoDB's 400 KB): at most ~6 KB each
RETRIES = 6


def _record(caller: Caller, workflow_id: str) -> Record:
    caller.require_admin()
    record = caller.store.get(caller.tenant, WORKFLOW, workflow_id)
    if record is None:
        raise NotFound(f"No workflow {workflow_id}.")
    return record


def _changed(record: Record) -> WorkflowChanged:
    data = record.data
    return WorkflowChanged(
        id=record.record_id,
        name=data["name"],
        status=data["status"],
        entity=data["trigger"]["entity"],
        on=data["trigger"]["on"],
        revision=int(data["revision"]),
        actions=[str(action.get("type")) for action in data.get("actions") or []],
    )


def _checked(definition: dict[str, Any]) -> None:
    errors = problems(definition)
    if errors:
        raise ValidationFailed(errors[0].message, errors)


def _active_entry(workflow_id: str, data: dict[str, Any]) -> dict[str, Any]:
    definition = {k: data.get(k) for k in DEFINITION if k != "description"}
    # created_by: whom its actions act as (runs.py `_acting`)
    return {"id": workflow_id, "revision": data["revision"], "created_by": data.get("created_by"), **definition}


def _stage_active(caller: Caller, uow: UnitOfWork, workflow_id: str, data: dict[str, Any] | None) -> None:
    """Put the workflow in the tenant's active item (`data` active) or take it out (else)."""
    record = caller.store.get(caller.tenant, ACTIVE, ACTIVE_ID)
    active = dict(record.data.get("workflows") or {}) if record else {}
    if data is not None and data["status"] == "active":
        if workflow_id not in active and len(active) >= MAX_ACTIVE:
            raise Conflict(f"A tenant has at most {MAX_ACTIVE} active workflows; pause one first.")
        active[workflow_id] = _active_entry(workflow_id, data)
    elif workflow_id in active:
        del active[workflow_id]
    else:
        return
    if record is None:
        caller.store.add(uow, caller.store.new(caller.tenant, ACTIVE, ACTIVE_ID, {"workflows": active}))
    else:
        caller.store.replace(uow, record, {"workflows": active})


def _stage_revision(caller: Caller, uow: UnitOfWork, workflow_id: str, data: dict[str, Any]) -> None:
    snapshot = {"workflow_id": workflow_id, "revision": data["revision"], **{k: data.get(k) for k in DEFINITION}}
    caller.store.add(
        uow, caller.store.new(caller.tenant, REVISION, revision_id(workflow_id, data["revision"]), snapshot)
    )


def create_workflow(caller: Caller, body: WorkflowCreate) -> Workflow:
    caller.require_admin()
    values = body.model_dump(mode="json")
    _checked(values)
    workflow_id = new_id()
    now = clock.now().isoformat()
    data = {**values, "revision": 1, "created_by": caller.user_id, "created_at": now, "updated_at": now}

    def attempt() -> Record:
        uow = UnitOfWork()
        record = caller.store.new(caller.tenant, WORKFLOW, workflow_id, data)
        caller.store.add(uow, record)
        _stage_revision(caller, uow, workflow_id, data)
        _stage_active(caller, uow, workflow_id, data)
        uow.publish(caller.event("workflow.created", _changed(record)))
        uow.commit()
        return record

    return model_of(run_with_retries(attempt, RETRIES), Workflow)


def get_workflow(caller: Caller, workflow_id: str) -> Workflow:
    return model_of(_record(caller, workflow_id), Workflow)


def list_workflows(
    caller: Caller, cursor: str | None, limit: int, updated_since: datetime | None = None
) -> Page[Workflow]:
    caller.require_admin()
    return kind_page(caller, WORKFLOW, cursor, limit, Workflow, updated_since)


def _current(caller: Caller, workflow_id: str, version: int | None) -> Record:
    """The workflow read again for a retried transaction: one a person changed meanwhile is a 409
    (only the tenant's active item is worth another try)."""
    record = _record(caller, workflow_id)
    if record.version != version:
        raise Conflict("The workflow was changed by someone else; reload and retry.")
    return record


def update_workflow(caller: Caller, workflow_id: str, body: WorkflowUpdate) -> Workflow:
    """A merge patch; a changed definition is the next revision, `status` alone is not."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    first = _record(caller, workflow_id)  # If-Match is evaluated on this read (shared/preconditions.py)
    if {**first.data, **changes} == first.data:
        return model_of(first, Workflow)
    _checked({**first.data, **changes})

    def attempt() -> None:
        record = _current(caller, workflow_id, first.version)
        data = {**record.data, **changes, "updated_at": clock.now().isoformat()}
        redefined = any(data.get(k) != record.data.get(k) for k in DEFINITION)
        if redefined:
            data["revision"] = int(record.data["revision"]) + 1
        before = dict(record.data)
        uow = UnitOfWork()
        caller.store.replace(uow, record, data)
        if redefined:
            _stage_revision(caller, uow, workflow_id, data)
        _stage_active(caller, uow, workflow_id, data)
        uow.publish(caller.event("workflow.updated", _changed(record), changes=changes_of(before, data)))
        uow.commit()

    run_with_retries(attempt, RETRIES)
    return model_of(_record(caller, workflow_id), Workflow)


def delete_workflow(caller: Caller, workflow_id: str) -> None:
    """The workflow goes; its revisions and runs stay until they expire (runs: `runs.RETENTION`)."""
    first = _record(caller, workflow_id)

    def attempt() -> None:
        record = _current(caller, workflow_id, first.version)
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        _stage_active(caller, uow, workflow_id, None)
        uow.publish(caller.event("workflow.deleted", _changed(record)))
        uow.commit()

    run_with_retries(attempt, RETRIES)
