"""The scanner's tenant settings: the change notifications (everyone reads them, admins change them)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.scanner import notifications
from services.scanner.domain.tickets import TicketNotifications, TicketNotificationsUpdate
from services.scanner.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/scanner/settings/notifications")
def get_notifications() -> TicketNotifications:
    return notifications.get_settings(caller(router))


@router.patch("/scanner/settings/notifications")
def change_notifications(body: Annotated[TicketNotificationsUpdate, Body()]) -> TicketNotifications:
    return notifications.update_settings(caller(router), body)
