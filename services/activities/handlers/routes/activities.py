"""Events and tasks: create, read, change, complete, reopen, delete; memos and attachments."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import activities
from services.activities.domain.models import (
    Activity,
    ActivityCreate,
    ActivityStatus,
    ActivitySummary,
    ActivityUpdate,
    Attachment,
    AttachmentCreate,
    AttachmentDownload,
    AttachmentUpload,
    MemoCreate,
)
from services.activities.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page, summaries
from shared.routes import Cursor, Id, Limit, OptIdQuery, located, no_content

router = APIGatewayHttpRouter()


@router.post("/activities", status_code=201)
def create_activity(body: Annotated[ActivityCreate, Body()]) -> Activity:
    return activities.create_activity(caller(router), body)


@router.get("/activities")
def list_activities(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    account_id: OptIdQuery = None,
    contact_id: OptIdQuery = None,
) -> Page[ActivitySummary]:
    """Activities without their description, memos and attachments (each activity's own GET has them)."""
    return summaries(activities.list_activities(caller(router), cursor, limit, account_id, contact_id), ActivitySummary)


@router.get("/activities/<activity_id>")
def get_activity(activity_id: Id) -> Activity:
    return activities.get_activity(caller(router), activity_id)


@router.patch("/activities/<activity_id>")
def update_activity(activity_id: Id, body: Annotated[ActivityUpdate, Body()]) -> Activity:
    return activities.update_activity(caller(router), activity_id, body)


@router.delete("/activities/<activity_id>")
def delete_activity(activity_id: Id) -> Response[None]:
    activities.delete_activity(caller(router), activity_id)
    return no_content()


@router.post("/activities/<activity_id>/complete")
def complete_activity(activity_id: Id) -> Activity:
    return activities.set_status(caller(router), activity_id, ActivityStatus.completed)


@router.post("/activities/<activity_id>/reopen")
def reopen_activity(activity_id: Id) -> Activity:
    return activities.set_status(caller(router), activity_id, ActivityStatus.open)


@router.post("/activities/<activity_id>/memos", status_code=201)
def add_memo(activity_id: Id, body: Annotated[MemoCreate, Body()]) -> Activity:
    return activities.add_memo(caller(router), activity_id, body)


@router.post("/activities/<activity_id>/attachments", status_code=201)
@located("/activities/{activity_id}/attachments/{attachment.id}")
def start_attachment(activity_id: Id, body: Annotated[AttachmentCreate, Body()]) -> AttachmentUpload:
    return activities.start_attachment(caller(router), activity_id, body)


@router.post("/activities/<activity_id>/attachments/<attachment_id>/complete")
def complete_attachment(activity_id: Id, attachment_id: Id) -> Attachment:
    return activities.complete_attachment(caller(router), activity_id, attachment_id)


@router.get("/activities/<activity_id>/attachments/<attachment_id>")
def download_attachment(activity_id: Id, attachment_id: Id) -> AttachmentDownload:
    return activities.download_attachment(caller(router), activity_id, attachment_id)


@router.delete("/activities/<activity_id>/attachments/<attachment_id>")
def delete_attachment(activity_id: Id, attachment_id: Id) -> Response[None]:
    activities.delete_attachment(caller(router), activity_id, attachment_id)
    return no_content()
