"""The call list [000]: accounts or contacts with their latest event, filtered and sorted; log a call."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities.call_list import calls, listing
from services.activities.domain.call_list import CallCreate, CallListFilter, CallListMode, CallListRow, Order, SortBy
from services.activities.domain.models import Activity
from services.activities.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import MAX_ITEMS, CodeItem, Cursor, Limit, OptIdQuery, answers, located

router = APIGatewayHttpRouter()

Statuses = Annotated[
    list[CodeItem] | None,
    Query(
        max_length=MAX_ITEMS,
        description="Account statuses, comma separated or the parameter repeated; none: every one but ceased",
    ),
]


@router.get("/call-list")
def list_call_list(
    mode: Annotated[CallListMode, Query(description="accounts, contacts, or account_contacts")] = "accounts",
    statuses: Statuses = None,
    account_manager_id: OptIdQuery = None,
    class_id: OptIdQuery = None,
    classification_type_id: OptIdQuery = None,
    target_group_id: OptIdQuery = None,
    sort: Annotated[SortBy, Query(description="By the latest event's time or type")] = "latest_time",
    order: Annotated[Order, Query()] = "desc",
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[CallListRow]:
    flt = CallListFilter(
        mode=mode,
        statuses=statuses or [],
        account_manager_id=account_manager_id,
        class_id=class_id,
        classification_type_id=classification_type_id,
        target_group_id=target_group_id,
        sort=sort,
        order=order,
    )
    return listing.list_rows(caller(router), flt, cursor, limit)


@router.post("/call-list/calls", status_code=201)
@located("/activities/{id}")
@answers(404)  # an account or contact the call list does not hold
def log_call(body: Annotated[CallCreate, Body()]) -> Activity:
    return calls.log_call(caller(router), body)
