"""Events and tasks: create, read, change, complete, reopen, delete; memos and attachments."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

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
from shared import bulk
from shared.errors import BadRequest, FieldError
from shared.merges import redirect_if_merged
from shared.pagination import DEFAULT_LIMIT, Page, summaries
from shared.routes import (
    MAX_ITEMS,
    Cursor,
    Id,
    IdItem,
    Limit,
    OptCodeQuery,
    OptIdQuery,
    UpdatedSince,
    answers,
    located,
    no_content,
)

router = APIGatewayHttpRouter()


@router.post("/activities", status_code=201)
def create_activity(body: Annotated[ActivityCreate, Body()]) -> Activity:
    return activities.create_activity(caller(router), body)


ActivityBatch = bulk.request_model("Activity", ActivityCreate, ActivityUpdate)


@router.post("/activities/batch")
def batch_activities(body: Annotated[ActivityBatch, Body()]) -> bulk.BatchResponse[Activity]:  # type: ignore[valid-type]
    items = body.items  # type: ignore[attr-defined]
    return bulk.run(
        caller(router), items, ActivityCreate, ActivityUpdate, activities.create_activity, activities.update_activity
    )


Ids = Annotated[
    list[IdItem] | None,
    Query(
        max_length=MAX_ITEMS,
        description="Read these activities (comma separated or the parameter repeated, at most 100), in this "
        "order; an id that is not an activity of the tenant is left out. With no other parameter.",
    ),
]
FromTime = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="Activities whose time (an event's start, a task's due) is at or after this"),
]
ToTime = Annotated[AwareDatetime | None, Query(description="Activities whose time is before this (after from)")]
Sort = Annotated[
    Literal["time", "id"] | None,
    Query(description="time (default with a filter or from/to) or id (the default otherwise; only without filters)"),
]
Order = Annotated[Literal["asc", "desc"] | None, Query(description="desc by default for time, asc for id")]


@router.get("/activities")
@answers(301)  # a merged contact's or account's id: the same list on the survivor
def list_activities(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    account_id: OptIdQuery = None,
    contact_id: OptIdQuery = None,
    owner_id: OptIdQuery = None,
    type: OptCodeQuery = None,
    from_: FromTime = None,
    to: ToTime = None,
    sort: Sort = None,
    order: Order = None,
    ids: Ids = None,
    updated_since: UpdatedSince = None,
) -> Page[ActivitySummary]:
    """The tenant's activities: a contact's, an account's (owner_id, type narrow them), an owner's or
    a type's, or all, in time order (newest first) within from/to; or those of `ids`. A combination
    no index serves is a 400 naming the parameter (type with owner_id needs contact_id or account_id;
    sort=id takes no filter). Items are summaries: no description, memos or attachments (each
    activity's own GET has them)."""
    flt = activities.ListFilter(owner_id, contact_id, account_id, type, from_, to, sort, order, updated_since)
    if ids is not None:
        others = {"cursor": cursor, **{k: v for k, v in vars(flt).items() if v is not None}}
        for name, value in others.items():
            if value is not None:
                raise BadRequest(
                    "ids is read on its own.",
                    [
                        FieldError(
                            field=f"query.{_PARAMETER.get(name, name)}",
                            message="not with ids",
                            code="unsupported_combination",
                        )
                    ],
                )
        return summaries(activities.get_many(caller(router), ids), ActivitySummary)
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, contact=contact_id, account=account_id)
    return summaries(activities.list_activities(who, cursor, limit, flt), ActivitySummary)


_PARAMETER = {"start": "from", "end": "to"}


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
@answers(409)  # a file not uploaded (or refused) yet
def download_attachment(activity_id: Id, attachment_id: Id) -> AttachmentDownload:
    return activities.download_attachment(caller(router), activity_id, attachment_id)


@router.delete("/activities/<activity_id>/attachments/<attachment_id>")
def delete_attachment(activity_id: Id, attachment_id: Id) -> Response[None]:
    activities.delete_attachment(caller(router), activity_id, attachment_id)
    return no_content()
