"""The tenant's audit settings: admins read and change them."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.audit import setup
from services.audit.domain.trail import AuditSetup, AuditSetupUpdate
from services.audit.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/audit/settings")
def get_settings() -> AuditSetup:
    return setup.get_settings(caller(router))


@router.patch("/audit/settings")
def update_settings(body: Annotated[AuditSetupUpdate, Body()]) -> AuditSetup:
    return setup.update_settings(caller(router), body)
