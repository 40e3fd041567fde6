"""The event types a webhook may receive, from the generated catalogue file (services/webhooks/catalogue.py)."""

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.webhooks.catalogue import event_types
from services.webhooks.domain.endpoints import EventType
from services.webhooks.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/webhooks/event-types")
def list_event_types() -> list[EventType]:
    caller(router)  # any signed-in user of the tenant
    return [EventType.model_validate(t) for t in event_types()]
