"""Tasks and events workflows ask for (`activity.create_requested`, shared/contracts/workflows.py: a
workflow's `create_task` action).

The activity is made as the user the request names would make it through `POST /activities`: the
tenant's activity type (its kind decides the times: a task is due `at`, an event runs from `at` for
`duration_minutes`), the owner rule, honest references (references.py) and the same writes and
hooks (`activities.stage_new`), in the consumer's unit of work with its dedupe marker. Its id is
derived from the request event's, so a redelivered request finds it and makes none. It lists in its
owner's to-do (todo.py) and calendar as any task. `source` is `workflow`, `source_id` the workflow.

A request the service refuses (no such active type, an owner or contact it does not take, an erased
contact) is answered once with `activity.create_refused` (the workflow records it as the step's
outcome) and not retried: asking again would be refused again.
"""

from datetime import timedelta

from pydantic import ValidationError

from services.activities import activities, admin, erasure, references
from services.activities.domain.models import ActivityCreate, ActivityKind
from services.activities.service import Caller
from services.activities.subscriptions import subscribe
from shared.contracts.workflows import ActivityCreateRequested, refusal
from shared.errors import DomainError, ValidationFailed
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.service import user_caller
from shared.store import UnitOfWork

SOURCE = "workflow"


def _body(caller: Caller, request: ActivityCreateRequested) -> ActivityCreate:
    kind = admin.activity_type(caller, request.activity_type).kind
    times = (
        {"due": request.at}
        if kind == ActivityKind.task
        else {"start": request.at, "end": request.at + timedelta(minutes=request.duration_minutes)}
    )
    return ActivityCreate(
        type=request.activity_type,
        subject=request.subject,
        description=request.description,
        owner_id=request.owner_id,
        contact_id=request.contact_id,
        account_id=request.account_id,
        **times,
    )


@subscribe("activity.create_requested")
def create_requested(envelope: Envelope, uow: UnitOfWork) -> None:
    request = ActivityCreateRequested.model_validate(envelope.data)
    activity_id = derived_id(envelope.id, "activity")
    try:
        caller = user_caller(Caller, envelope.tenant_id, request.acting)
        if caller.store.get(caller.tenant, activities.KIND, activity_id) is not None:
            return
        body = _body(caller, request)
        activity = activities.build(caller, body, activity_id=activity_id, source=SOURCE, source_id=request.source_id)
        activities.check_owner(caller, activity.owner_id)
        contact_id, account_id = references.resolved(caller, activity.contact_id, activity.account_id)
        activity = activity.model_copy(update={"contact_id": contact_id, "account_id": account_id})
        references.check(caller, activity.contact_id, activity.account_id)
        if activity.contact_id and erasure.is_erased(caller, activity.contact_id):  # else refused at commit
            raise ValidationFailed.on("contact_id", f"Contact {activity.contact_id} is erased.", "erased")
        activities.stage_new(caller, uow, activity)
    except (ValidationError, DomainError) as refused:
        logger.warning(
            "activity request refused", extra={"request_id": request.request_id, "reason": str(refused)[:500]}
        )
        uow.publish(refusal(envelope, request.request_id, refused))
