"""The tenant's activity settings: its time zone (GET for everyone, PUT for admins)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import tenant
from services.activities.domain.tenant import ActivitySettings
from services.activities.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/activity-settings")
def get_activity_settings() -> ActivitySettings:
    return tenant.settings(caller(router, tenant.TENANT))


@router.put("/activity-settings")
def replace_activity_settings(body: Annotated[ActivitySettings, Body()]) -> ActivitySettings:
    return tenant.replace_settings(caller(router, tenant.TENANT), body)
