"""Contact orders [003]: orders (create, list, change, assign, close, convert, delete) and their time log."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import contact_orders, order_lists
from services.activities.domain.contact_orders import (
    AssigneesReplace,
    ContactOrder,
    ContactOrderCreate,
    ContactOrderSummary,
    ContactOrderUpdate,
    ConversionResult,
    Filters,
    TimeEntryCreate,
)
from services.activities.handlers.common import caller
from shared.merges import redirect_if_merged
from shared.pagination import DEFAULT_LIMIT, Page, summaries
from shared.routes import Cursor, Id, Limit, OptCodeQuery, OptIdQuery, UpdatedSince, answers, no_content

router = APIGatewayHttpRouter()


OptDateQuery = Annotated[date | None, Query()]
OptBoolQuery = Annotated[bool | None, Query()]


@router.post("/contact-orders", status_code=201)
def create_order(body: Annotated[ContactOrderCreate, Body()]) -> ContactOrder:
    return contact_orders.create_order(caller(router), body)


@router.get("/contact-orders")
@answers(301)  # a merged contact's or account's id: the same list on the survivor
def list_orders(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    favourite_id: OptIdQuery = None,
    status: OptCodeQuery = None,
    assignee_id: OptIdQuery = None,
    account_id: OptIdQuery = None,
    contact_id: OptIdQuery = None,
    facility_id: OptIdQuery = None,
    closed: OptBoolQuery = None,
    planned_from: OptDateQuery = None,
    planned_to: OptDateQuery = None,
    updated_since: UpdatedSince = None,
) -> Page[ContactOrderSummary]:
    """Open orders first (by planned date, or running number by tenant setting), closed ones last.

    `favourite_id` lists with a saved favourite's filters (the other filters are then ignored).
    """
    filters = Filters(
        status=status,
        assignee_id=assignee_id,
        account_id=account_id,
        contact_id=contact_id,
        facility_id=facility_id,
        closed=closed,
        planned_from=planned_from,
        planned_to=planned_to,
    )
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, contact=contact_id, account=account_id)
    page = order_lists.list_orders(who, filters, cursor, limit, favourite_id, updated_since)
    return summaries(page, ContactOrderSummary)


@router.get("/contact-orders/<order_id>")
def get_order(order_id: Id) -> ContactOrder:
    return contact_orders.get_order(caller(router), order_id)


@router.patch("/contact-orders/<order_id>")
def update_order(order_id: Id, body: Annotated[ContactOrderUpdate, Body()]) -> ContactOrder:
    return contact_orders.update_order(caller(router), order_id, body)


@router.delete("/contact-orders/<order_id>")
def delete_order(order_id: Id) -> Response[None]:
    contact_orders.delete_order(caller(router), order_id)
    return no_content()


@router.put("/contact-orders/<order_id>/assignees")
def replace_assignees(order_id: Id, body: Annotated[AssigneesReplace, Body()]) -> ContactOrder:
    return contact_orders.replace_assignees(caller(router), order_id, body)


@router.post("/contact-orders/<order_id>/close")
def close_order(order_id: Id) -> ContactOrder:
    return contact_orders.close_order(caller(router), order_id)


@router.post("/contact-orders/<order_id>/convert")
def convert_order(order_id: Id) -> ConversionResult:
    return contact_orders.convert_order(caller(router), order_id)


@router.post("/contact-orders/<order_id>/time-entries", status_code=201)
def add_time(order_id: Id, body: Annotated[TimeEntryCreate, Body()]) -> ContactOrder:
    return contact_orders.add_time(caller(router), order_id, body)
