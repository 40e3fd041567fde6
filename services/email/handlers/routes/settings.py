"""The tenant's sending settings (From, Reply-To, transport): admins only; the SMTP password is write-only."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import transports
from services.email.domain.transports import EmailSettingsIn, EmailSettingsOut
from services.email.handlers.common import caller
from services.email.transactional import SENDER_SETTING

router = APIGatewayHttpRouter()


@router.get("/email/settings")
def get_settings() -> EmailSettingsOut:
    return transports.get_settings(caller(router, SENDER_SETTING))


@router.put("/email/settings")
def change_settings(body: Annotated[EmailSettingsIn, Body()]) -> EmailSettingsOut:
    return transports.change_settings(caller(router, SENDER_SETTING), body)
