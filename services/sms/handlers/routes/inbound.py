"""Inbound SMS: the numbers that opted out, and the inbound messages (services/sms/inbound.py)."""

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.sms import inbound
from services.sms.domain.inbound import SmsInbound, SmsOptOut
from services.sms.handlers.common import caller
from shared.merges import redirect_if_merged
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Limit, OptIdQuery, answers

router = APIGatewayHttpRouter()


@router.get("/sms/opt-outs")
def list_opt_outs(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[SmsOptOut]:
    return inbound.list_opt_outs(caller(router), cursor, limit)


@router.get("/sms/inbound")
@answers(301)  # a merged contact's id: the same list on the survivor
def list_inbound(
    contact_id: OptIdQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[SmsInbound]:
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, contact=contact_id)
    return inbound.list_inbound(who, contact_id, cursor, limit)
