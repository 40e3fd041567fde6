"""Marketing activities [004]: create by hand, show, delete, the person card's list, statistics."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.activities import marketing
from services.activities.domain.marketing import (
    GroupBy,
    MarketingActivity,
    MarketingActivityCreate,
    MarketingActivitySummary,
    MarketingStats,
    MarketingType,
)
from services.activities.handlers.common import caller
from shared.merges import redirect_if_merged
from shared.pagination import DEFAULT_LIMIT, Page, summaries
from shared.routes import Cursor, Id, Limit, OptIdQuery, UpdatedSince, answers, no_content

router = APIGatewayHttpRouter()

From = Annotated[date, Query(alias="from", description="First day of the range (UTC), inclusive")]
To = Annotated[
    date,
    Query(
        description="Last day of the range (UTC), inclusive: not before `from`, the range at most 366 days "
        "(else 422 invalid_range, range_too_long)"
    ),
]


FromTime = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="At or after this, with a zone (needs contact_id or account_id)"),
]
ToTime = Annotated[AwareDatetime | None, Query(description="Before this, with a zone (needs contact_id or account_id)")]


@router.post("/marketing-activities", status_code=201)
def create_marketing_activity(body: Annotated[MarketingActivityCreate, Body()]) -> MarketingActivity:
    return marketing.create(caller(router), body)


@router.get("/marketing-activities")
@answers(301)  # a merged contact's or account's id: the same list on the survivor
def list_marketing_activities(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    contact_id: OptIdQuery = None,
    account_id: OptIdQuery = None,
    type: Annotated[MarketingType | None, Query(description="With contact_id or account_id")] = None,
    from_: Annotated[
        AwareDatetime | None,
        Query(alias="from", description="At or after this, with a zone (needs contact_id or account_id)"),
    ] = None,
    to: Annotated[
        AwareDatetime | None, Query(description="Before this, with a zone (needs contact_id or account_id)")
    ] = None,
    updated_since: UpdatedSince = None,
) -> Page[MarketingActivitySummary]:
    """A person's or an account's marketing activities newest first (of a type, within from/to), or
    the tenant's by newest id; type, from and to without contact_id or account_id are a 400. Items
    are summaries without the note (each one's own GET has it)."""
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, contact=contact_id, account=account_id)
    page = marketing.list_activities(
        who,
        cursor,
        limit,
        contact_id,
        account_id,
        type_=type,
        start=from_,
        end=to,
        updated_since=updated_since,
    )
    return summaries(page, MarketingActivitySummary)


# Declared before /{activity_id}, which would otherwise take "stats" for an id.
@router.get("/marketing-activities/stats")
@answers(301)  # a merged contact's id: the same figures on the survivor
def marketing_stats(
    from_: From,
    to: To,
    group_by: Annotated[GroupBy, Query()] = GroupBy.type,
    contact_id: OptIdQuery = None,
    limit: Limit = DEFAULT_LIMIT,
) -> MarketingStats:
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, contact=contact_id)
    return marketing.stats(who, from_, to, group_by, contact_id, limit)


@router.get("/marketing-activities/<activity_id>")
def get_marketing_activity(activity_id: Id) -> MarketingActivity:
    return marketing.get(caller(router), activity_id)


@router.delete("/marketing-activities/<activity_id>")
def delete_marketing_activity(activity_id: Id) -> Response[None]:
    marketing.delete(caller(router), activity_id)
    return no_content()
