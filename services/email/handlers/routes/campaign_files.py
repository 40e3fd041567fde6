"""A campaign's attachments [issue 5 item 3]: upload (a presigned POST), confirm, remove."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import campaign_files
from services.email.domain.campaign_files import CampaignAttachmentCreate, CampaignAttachmentUpload
from services.email.domain.campaigns import Campaign
from services.email.handlers.common import caller
from shared.routes import Id, located

router = APIGatewayHttpRouter()


@router.post("/campaigns/<campaign_id>/attachments", status_code=201)
@located("/campaigns/{campaign_id}")  # an attachment is read in its campaign
def add_attachment(campaign_id: Id, body: Annotated[CampaignAttachmentCreate, Body()]) -> CampaignAttachmentUpload:
    return campaign_files.add_attachment(caller(router), campaign_id, body)


@router.post("/campaigns/<campaign_id>/attachments/<file_id>/confirm")
def confirm_attachment(campaign_id: Id, file_id: Id) -> Campaign:
    return campaign_files.confirm_attachment(caller(router), campaign_id, file_id)


@router.delete("/campaigns/<campaign_id>/attachments/<file_id>")
def remove_attachment(campaign_id: Id, file_id: Id) -> Campaign:
    return campaign_files.remove_attachment(caller(router), campaign_id, file_id)
