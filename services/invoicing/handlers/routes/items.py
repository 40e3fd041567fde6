"""Invoicing items: everyone in the tenant reads and creates them; add ownership rules as the feature needs."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.invoicing import items
from services.invoicing.domain.items import Item, ItemCreate
from services.invoicing.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.get("/invoicing/items")
def list_items(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None) -> Page[Item]:
    return items.list_items(caller(router), cursor, limit, updated_since)


@router.post("/invoicing/items", status_code=201)
def create_item(body: Annotated[ItemCreate, Body()]) -> Item:
    return items.create_item(caller(router), body)


@router.get("/invoicing/items/<item_id>")
def get_item(item_id: Id) -> Item:
    return items.get_item(caller(router), item_id)


@router.delete("/invoicing/items/<item_id>")
def delete_item(item_id: Id) -> Response[None]:
    items.delete_item(caller(router), item_id)
    return no_content()
