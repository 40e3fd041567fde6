"""Price lists (a customer's own unit prices) and customers (the accounts invoicing bills)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.invoicing import customers, price_lists
from services.invoicing.domain.catalogue import PriceList, PriceListCreate, PriceListUpdate
from services.invoicing.domain.customers import Customer, CustomerUpdate
from services.invoicing.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince, answers, no_content

router = APIGatewayHttpRouter()


@router.get("/price-lists")
def list_price_lists(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[PriceList]:
    return price_lists.list_price_lists(caller(router), cursor, limit, updated_since)


@router.post("/price-lists", status_code=201)
def create_price_list(body: Annotated[PriceListCreate, Body()]) -> PriceList:
    return price_lists.create_price_list(caller(router), body)


@router.get("/price-lists/<price_list_id>")
def get_price_list(price_list_id: Id) -> PriceList:
    return price_lists.get_price_list(caller(router), price_list_id)


@router.patch("/price-lists/<price_list_id>")
def update_price_list(price_list_id: Id, body: Annotated[PriceListUpdate, Body()]) -> PriceList:
    return price_lists.update_price_list(caller(router), price_list_id, body)


@router.delete("/price-lists/<price_list_id>")
def delete_price_list(price_list_id: Id) -> Response[None]:
    price_lists.delete_price_list(caller(router), price_list_id)
    return no_content()


@router.get("/invoicing/customers")
def list_customers(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Customer]:
    return customers.list_customers(caller(router), cursor, limit)


@router.get("/invoicing/customers/<account_id>")
@answers(301)  # a merged account: its survivor's copy
def get_customer(account_id: Id) -> Customer:
    return customers.get_customer(caller(router), account_id)


@router.patch("/invoicing/customers/<account_id>")
@answers(409, 410)
def update_customer(account_id: Id, body: Annotated[CustomerUpdate, Body()]) -> Customer:
    return customers.update_customer(caller(router), account_id, body)
