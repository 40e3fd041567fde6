"""Sending a campaign [issue 5 item 3]: now or at a time; pause, resume, cancel."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import campaign_launch
from services.email.domain.campaigns import Campaign, ScheduleRequest
from services.email.handlers.common import caller
from shared.routes import Id

router = APIGatewayHttpRouter()


@router.post("/campaigns/<campaign_id>/send")
def send_campaign(campaign_id: Id) -> Campaign:
    """Send now: the target group is resolved at this moment."""
    return campaign_launch.start_send(caller(router), campaign_id)


@router.post("/campaigns/<campaign_id>/schedule")
def schedule_campaign(campaign_id: Id, body: Annotated[ScheduleRequest, Body()]) -> Campaign:
    """Send at a time: a one-time schedule fires the send then."""
    return campaign_launch.schedule(caller(router), campaign_id, body)


@router.post("/campaigns/<campaign_id>/pause")
def pause_campaign(campaign_id: Id) -> Campaign:
    return campaign_launch.pause(caller(router), campaign_id)


@router.post("/campaigns/<campaign_id>/resume")
def resume_campaign(campaign_id: Id) -> Campaign:
    return campaign_launch.resume(caller(router), campaign_id)


@router.post("/campaigns/<campaign_id>/cancel")
def cancel_campaign(campaign_id: Id) -> Campaign:
    return campaign_launch.cancel(caller(router), campaign_id)
