"""Webhooks items: everyone in the tenant reads and creates them; add ownership rules as the feature needs."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.webhooks import items
from services.webhooks.domain.items import Item, ItemCreate
from services.webhooks.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.get("/webhooks/items")
def list_items(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None) -> Page[Item]:
    return items.list_items(caller(router), cursor, limit, updated_since)


@router.post("/webhooks/items", status_code=201)
def create_item(body: Annotated[ItemCreate, Body()]) -> Item:
    return items.create_item(caller(router), body)


@router.get("/webhooks/items/<item_id>")
def get_item(item_id: Id) -> Item:
    return items.get_item(caller(router), item_id)


@router.delete("/webhooks/items/<item_id>")
def delete_item(item_id: Id) -> Response[None]:
    items.delete_item(caller(router), item_id)
    return no_content()
