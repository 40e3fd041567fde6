"""Contact orders [003]: a user's saved list filters."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import order_favourites
from services.activities.domain.order_favourites import Favourite, FavouriteCreate
from services.activities.handlers.common import caller
from shared.routes import Id, no_content

router = APIGatewayHttpRouter()


@router.get("/contact-orders/favourites")
def list_favourites() -> list[Favourite]:
    return order_favourites.list_favourites(caller(router))


@router.post("/contact-orders/favourites", status_code=201)
def create_favourite(body: Annotated[FavouriteCreate, Body()]) -> Favourite:
    return order_favourites.create_favourite(caller(router), body)


@router.delete("/contact-orders/favourites/<favourite_id>")
def delete_favourite(favourite_id: Id) -> Response[None]:
    order_favourites.delete_favourite(caller(router), favourite_id)
    return no_content()
