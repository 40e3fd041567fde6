"""Campaigns [issue 5 item 3]: create, read, list, change and delete them while draft (sending
them: campaign_launch; recipients: campaign_recipients; attachments: campaign_files)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import campaigns
from services.email.domain.campaigns import Campaign, CampaignCreate, CampaignUpdate
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.post("/campaigns", status_code=201)
def create_campaign(body: Annotated[CampaignCreate, Body()]) -> Campaign:
    return campaigns.create_campaign(caller(router), body)


@router.get("/campaigns")
def list_campaigns(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[Campaign]:
    return campaigns.list_campaigns(caller(router), cursor, limit, updated_since)


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
