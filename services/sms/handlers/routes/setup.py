"""The tenant's SMS settings: anyone reads them, admins change them (and activate SMS)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.sms import setup
from services.sms.domain.setup import SmsSetup, SmsSetupUpdate
from services.sms.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/sms/settings")
def get_settings() -> SmsSetup:
    return setup.setup(caller(router))


@router.patch("/sms/settings")
def update_settings(body: Annotated[SmsSetupUpdate, Body()]) -> SmsSetup:
    return setup.update_setup(caller(router), body)
