"""Sales orders: every user creates them; the owner (or their group), managers and admins change them."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.invoicing import orders
from services.invoicing.domain.orders import (
    EndOrder,
    SalesOrder,
    SalesOrderCreate,
    SalesOrderSummary,
    SalesOrderUpdate,
    Status,
)
from services.invoicing.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, answers

router = APIGatewayHttpRouter()


@router.get("/sales-orders")
@answers(301)  # a merged account's id: the same list on the survivor
def list_sales_orders(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    account_id: OptIdQuery = None,
    status: Status | None = None,
) -> Page[SalesOrderSummary]:
    return orders.list_orders(caller(router), cursor, limit, account_id, status)


@router.post("/sales-orders", status_code=201)
def create_sales_order(body: Annotated[SalesOrderCreate, Body()]) -> SalesOrder:
    return orders.create_order(caller(router), body)


@router.get("/sales-orders/<order_id>")
def get_sales_order(order_id: Id) -> SalesOrder:
    return orders.get_order(caller(router), order_id)


@router.patch("/sales-orders/<order_id>")
def update_sales_order(order_id: Id, body: Annotated[SalesOrderUpdate, Body()]) -> SalesOrder:
    return orders.update_order(caller(router), order_id, body)


@router.post("/sales-orders/<order_id>/activate")
@answers(409)
def activate_sales_order(order_id: Id) -> SalesOrder:
    return orders.activate_order(caller(router), order_id)


@router.post("/sales-orders/<order_id>/end")
@answers(409)
def end_sales_order(order_id: Id, body: Annotated[EndOrder, Body()]) -> SalesOrder:
    return orders.end_order(caller(router), order_id, body)


@router.post("/sales-orders/<order_id>/cancel")
@answers(409)
def cancel_sales_order(order_id: Id) -> SalesOrder:
    return orders.cancel_order(caller(router), order_id)
