"""The tenant's IP rules (`/ip-rules`): admins only."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.access import ip_rules
from services.access.domain.ip_rules import IpRules, IpRulesShown
from services.access.handlers.common import caller

router = APIGatewayHttpRouter()


@router.get("/ip-rules")
def get_rules() -> IpRulesShown:
    return ip_rules.get_rules(caller(router))


@router.put("/ip-rules")
def replace_rules(body: Annotated[IpRules, Body()]) -> IpRulesShown:
    source_ip = router.current_event.request_context.http.source_ip
    return ip_rules.replace_rules(caller(router), body, source_ip)
