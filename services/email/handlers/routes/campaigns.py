"""Campaigns [issue 5 item 3]: CRUD while draft, send now or at a time, pause/resume/cancel,
recipients with their statuses, contacts added by hand, attachments."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import campaigns
from services.email.domain.campaigns import (
    AttachmentCreate,
    AttachmentUpload,
    Campaign,
    CampaignCreate,
    CampaignUpdate,
    ContactsAdd,
    ContactsAdded,
    ScheduleRequest,
)
from services.email.domain.messages import Message
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, no_content

router = APIGatewayHttpRouter()

StatusQuery = Annotated[str | None, Query(pattern=r"^(queued|sending|sent|failed|suppressed|opted_out|skipped)$")]


@router.post("/campaigns", status_code=201)
def create_campaign(body: Annotated[CampaignCreate, Body()]) -> Campaign:
    return campaigns.create_campaign(caller(router), body)


@router.get("/campaigns")
def list_campaigns(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Campaign]:
    return campaigns.list_campaigns(caller(router), cursor, limit)


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


@router.post("/campaigns/<campaign_id>/send")
def send_campaign(campaign_id: Id) -> Campaign:
    """Send now: the target group is resolved at this moment."""
    return campaigns.start_send(caller(router), campaign_id)


@router.post("/campaigns/<campaign_id>/schedule")
def schedule_campaign(campaign_id: Id, body: Annotated[ScheduleRequest, Body()]) -> Campaign:
    """Send at a time: a one-time schedule fires the send then."""
    return campaigns.schedule(caller(router), campaign_id, body)


@router.post("/campaigns/<campaign_id>/pause")
def pause_campaign(campaign_id: Id) -> Campaign:
    return campaigns.pause(caller(router), campaign_id)


@router.post("/campaigns/<campaign_id>/resume")
def resume_campaign(campaign_id: Id) -> Campaign:
    return campaigns.resume(caller(router), campaign_id)


@router.post("/campaigns/<campaign_id>/cancel")
def cancel_campaign(campaign_id: Id) -> Campaign:
    return campaigns.cancel(caller(router), campaign_id)


@router.get("/campaigns/<campaign_id>/recipients")
def list_recipients(
    campaign_id: Id, status: StatusQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[Message]:
    return campaigns.list_recipients(caller(router), campaign_id, status, cursor, limit)


@router.post("/campaigns/<campaign_id>/contacts")
def add_contacts(campaign_id: Id, body: Annotated[ContactsAdd, Body()]) -> ContactsAdded:
    """Contacts added by hand: each gets the campaign's automatic template once."""
    return campaigns.add_contacts(caller(router), campaign_id, body)


@router.post("/campaigns/<campaign_id>/attachments", status_code=201)
def add_attachment(campaign_id: Id, body: Annotated[AttachmentCreate, Body()]) -> AttachmentUpload:
    return campaigns.add_attachment(caller(router), campaign_id, body)


@router.post("/campaigns/<campaign_id>/attachments/<file_id>/confirm")
def confirm_attachment(campaign_id: Id, file_id: Id) -> Campaign:
    return campaigns.confirm_attachment(caller(router), campaign_id, file_id)


@router.delete("/campaigns/<campaign_id>/attachments/<file_id>")
def remove_attachment(campaign_id: Id, file_id: Id) -> Campaign:
    return campaigns.remove_attachment(caller(router), campaign_id, file_id)
