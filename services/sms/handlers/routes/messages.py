"""One SMS to one contact (a module tool's send), and the messages sent."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.sms import messages
from services.sms.domain.messages import SmsMessage, SmsMessageRequest, SmsMessageStatus
from services.sms.handlers.common import caller
from shared import clock
from shared.merges import redirect_if_merged
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, answers, located

router = APIGatewayHttpRouter()

Since = Annotated[AwareDatetime | None, Query(alias="from", description="Created at or after (inclusive), with a zone")]
Until = Annotated[AwareDatetime | None, Query(alias="to", description="Created before (exclusive), with a zone")]
StatusQuery = Annotated[SmsMessageStatus | None, Query(description="Only messages in this status")]


@router.post("/sms/messages", status_code=201)
@located("/sms/messages/{id}")
@answers(402)  # the tenant's credits do not cover the message's parts
def send_message(body: Annotated[SmsMessageRequest, Body()]) -> SmsMessage:
    return messages.send_one(caller(router), body)


@router.get("/sms/messages")
@answers(301)  # a merged contact's id: the same list on the survivor
def list_messages(
    contact_id: OptIdQuery = None,
    status: StatusQuery = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[SmsMessage]:
    lower = clock.iso(since) if since else None
    upper = clock.iso(until) if until else None
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, contact=contact_id)
    return messages.list_messages(who, contact_id, status, lower, upper, cursor, limit)


@router.get("/sms/messages/<message_id>")
def get_message(message_id: Id) -> SmsMessage:
    return messages.get_message(caller(router), message_id)
