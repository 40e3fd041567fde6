"""Campaigns [issue 5 item 3]: create, read, list, change and delete them while draft (sending
them: campaign_launch; recipients: campaign_recipients; attachments: campaign_files)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.email import campaigns
from services.email.domain.campaigns import Campaign, CampaignCreate, CampaignStatus, CampaignUpdate
from services.email.handlers.common import caller
from shared import clock
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import ID_PATTERN, Cursor, Id, Limit, NamePrefix, OptIdQuery, Order, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.post("/campaigns", status_code=201)
def create_campaign(body: Annotated[CampaignCreate, Body()]) -> Campaign:
    return campaigns.create_campaign(caller(router), body)


@router.get("/campaigns")
def list_campaigns(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    status: Annotated[CampaignStatus | None, Query(description="Only campaigns in this status")] = None,
    template_id: OptIdQuery = None,
    list_type_id: OptIdQuery = None,
    target_group_id: OptIdQuery = None,
    created_by: Annotated[str | None, Query(pattern=ID_PATTERN, description="The campaigns this user made")] = None,
    send_from: Annotated[
        AwareDatetime | None,
        Query(description="Send time (scheduled, else started) at or after this (inclusive), with a zone"),
    ] = None,
    send_to: Annotated[
        AwareDatetime | None, Query(description="Send time (scheduled, else started) before this, with a zone")
    ] = None,
    sort: Annotated[
        Literal["id", "name", "send_time"] | None,
        Query(
            description="id (the default, and the order of every exact filter), name (the order of a `name` "
            "filter) or send_time (the time scheduled, else the time sending started: the order of "
            "`send_from`/`send_to`; campaigns with a send time only); a sort the filter's index does not serve "
            "is a 400 naming `query.sort`"
        ),
    ] = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[Campaign]:
    filters = {
        "name": name,
        "status": status.value if status else None,
        "template_id": template_id,
        "list_type_id": list_type_id,
        "target_group_id": target_group_id,
        "created_by": created_by,
        "send_from": clock.iso(send_from) if send_from else None,
        "send_to": clock.iso(send_to) if send_to else None,
    }
    return campaigns.list_campaigns(caller(router), cursor, limit, filters, sort, order, updated_since)


@router.get("/campaigns/<campaign_id>")
def get_campaign(campaign_id: Id) -> Campaign:
    return campaigns.get_campaign(caller(router), campaign_id)


@router.patch("/campaigns/<campaign_id>")
def update_campaign(campaign_id: Id, body: Annotated[CampaignUpdate, Body()]) -> Campaign:
    return campaigns.update_campaign(caller(router), campaign_id, body)


@router.delete("/campaigns/<campaign_id>")
def delete_campaign(campaign_id: Id) -> Response[None]:
    campaigns.delete_campaign(caller(router), campaign_id)
    return no_content()
