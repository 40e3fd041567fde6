"""The tenant's webhook settings: anyone reads them, admins change them."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.webhooks import setup
from services.webhooks.domain.setup import WebhookSettings, WebhookSettingsUpdate
from services.webhooks.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/webhooks/settings")
def get_settings() -> WebhookSettings:
    return setup.get_settings(caller(router))


@router.patch("/webhooks/settings")
def update_settings(body: Annotated[WebhookSettingsUpdate, Body()]) -> WebhookSettings:
    return setup.update_settings(caller(router), body)
