"""Contact orders [003]: facilities, the tenant's list of the places orders are about."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import facilities
from services.activities.domain.facilities import Facility, FacilityCreate
from services.activities.handlers.common import caller
from shared.merges import redirect_if_merged
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Limit, OptIdQuery, UpdatedSince, answers

router = APIGatewayHttpRouter()


@router.get("/contact-orders/facilities")
@answers(301)  # a merged account's id: the same list on the survivor
def list_facilities(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    account_id: OptIdQuery = None,
    updated_since: UpdatedSince = None,
) -> Page[Facility]:
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, account=account_id)
    return facilities.list_facilities(who, cursor, limit, account_id, updated_since)


@router.post("/contact-orders/facilities", status_code=201)
def create_facility(body: Annotated[FacilityCreate, Body()]) -> Facility:
    return facilities.create_facility(caller(router), body)
