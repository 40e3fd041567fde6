"""The tenant's directory settings (GET for everyone, PUT for admins)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import admin
from services.directory.domain.models import TenantSettings
from services.directory.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/settings")
def get_settings() -> TenantSettings:
    return admin.get_settings(caller(router))


@router.put("/settings")
def replace_settings(body: Annotated[TenantSettings, Body()]) -> TenantSettings:
    return admin.replace_settings(caller(router), body)
