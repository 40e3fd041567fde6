"""An endpoint's delivery log and replay (services/webhooks/log.py): admins only."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.webhooks import log
from services.webhooks.domain.messages import (
    WebhookAttempt,
    WebhookMessage,
    WebhookMessageStatus,
    WebhookRecovered,
    WebhookRecoverRequest,
)
from services.webhooks.handlers.common import caller
from shared import clock
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, answers

router = APIGatewayHttpRouter()

Since = Annotated[AwareDatetime | None, Query(alias="from", description="Created at or after (inclusive), with a zone")]
Until = Annotated[AwareDatetime | None, Query(alias="to", description="Created before (exclusive), with a zone")]
StatusQuery = Annotated[WebhookMessageStatus | None, Query(description="Only messages in this status")]


@router.get("/webhooks/endpoints/<endpoint_id>/messages")
def list_messages(
    endpoint_id: Id,
    status: StatusQuery = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[WebhookMessage]:
    lower = clock.iso(since) if since else None
    upper = clock.iso(until) if until else None
    return log.list_messages(caller(router), endpoint_id, status, lower, upper, cursor, limit)


@router.get("/webhooks/endpoints/<endpoint_id>/messages/<message_id>")
def get_message(endpoint_id: Id, message_id: Id) -> WebhookMessage:
    return log.get_message(caller(router), endpoint_id, message_id)


@router.get("/webhooks/endpoints/<endpoint_id>/messages/<message_id>/attempts")
def list_attempts(
    endpoint_id: Id, message_id: Id, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[WebhookAttempt]:
    return log.list_attempts(caller(router), endpoint_id, message_id, cursor, limit)


@router.post("/webhooks/endpoints/<endpoint_id>/messages/<message_id>/resend", status_code=202)
@answers(409)  # still being delivered, or the endpoint is disabled
def resend(endpoint_id: Id, message_id: Id) -> WebhookMessage:
    return log.resend(caller(router), endpoint_id, message_id)


@router.post("/webhooks/endpoints/<endpoint_id>/recover", status_code=202)
@answers(409)  # the endpoint is disabled
def recover(endpoint_id: Id, body: Annotated[WebhookRecoverRequest, Body()]) -> WebhookRecovered:
    return log.recover(caller(router), endpoint_id, body)


@router.post("/webhooks/endpoints/<endpoint_id>/test", status_code=202)
@answers(409)  # the endpoint is disabled
def send_test(endpoint_id: Id) -> WebhookMessage:
    return log.send_test(caller(router), endpoint_id)
