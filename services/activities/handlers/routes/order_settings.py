"""Contact orders [003]: the tenant's contact-order settings (statuses, list order, permissions)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import order_settings
from services.activities.domain.order_settings import ContactOrderSettings, SettingsUpdate
from services.activities.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/contact-orders/settings")
def get_settings() -> ContactOrderSettings:
    return order_settings.settings(caller(router, order_settings.SETTINGS))


@router.patch("/contact-orders/settings")
def update_settings(body: Annotated[SettingsUpdate, Body()]) -> ContactOrderSettings:
    return order_settings.update_settings(caller(router, order_settings.SETTINGS), body)
