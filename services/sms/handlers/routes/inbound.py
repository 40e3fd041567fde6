"""Inbound SMS: the numbers that opted out, and the inbound messages (services/sms/inbound.py)."""

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.sms import inbound
from services.sms.domain.inbound import SmsInbound, SmsOptOut
from services.sms.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Limit, OptIdQuery

router = APIGatewayHttpRouter()


@router.get("/sms/opt-outs")
def list_opt_outs(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[SmsOptOut]:
    return inbound.list_opt_outs(caller(router), cursor, limit)


@router.get("/sms/inbound")
def list_inbound(
    contact_id: OptIdQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[SmsInbound]:
    return inbound.list_inbound(caller(router), contact_id, cursor, limit)
