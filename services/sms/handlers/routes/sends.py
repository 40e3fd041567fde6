"""SMS sends to a target group [issue 19 item 3a]: send now or at a time, read, list, cancel, and
the messages of a send with their statuses."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.sms import send_recipients, sends
from services.sms.domain.messages import SmsMessage, SmsMessageStatus
from services.sms.domain.sends import SmsSend, SmsSendRequest
from services.sms.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince

router = APIGatewayHttpRouter()

StatusQuery = Annotated[SmsMessageStatus | None, Query(description="Only messages in this status")]


@router.post("/sms/sends", status_code=202)
def create_send(body: Annotated[SmsSendRequest, Body()]) -> SmsSend:
    return sends.create_send(caller(router), body)


@router.get("/sms/sends")
def list_sends(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[SmsSend]:
    return sends.list_sends(caller(router), cursor, limit, updated_since)


@router.get("/sms/sends/<send_id>")
def get_send(send_id: Id) -> SmsSend:
    return sends.get_send(caller(router), send_id)


@router.post("/sms/sends/<send_id>/cancel")
def cancel_send(send_id: Id) -> SmsSend:
    return sends.cancel_send(caller(router), send_id)


@router.get("/sms/sends/<send_id>/messages")
def list_send_messages(
    send_id: Id, status: StatusQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[SmsMessage]:
    return send_recipients.list_send_messages(caller(router), send_id, status, cursor, limit)
