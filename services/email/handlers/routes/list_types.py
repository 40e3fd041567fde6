"""List types (opt-out lists): admins and managers manage them and their opt-outs; everyone reads."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import list_types
from services.email.domain.list_types import (
    ListType,
    ListTypeCreate,
    ListTypePatch,
    ListTypeSummary,
    OptOut,
    OptOutCreate,
)
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page, summaries
from shared.routes import Cursor, Id, Limit, NamePrefix, Order, SortByName, UpdatedSince, no_content
from shared.types import Email

router = APIGatewayHttpRouter()

AddressQuery = Annotated[Email, Query(description="The address whose opt-out to remove")]


@router.get("/email/list-types")
def list_list_types(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    sort: SortByName = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[ListTypeSummary]:
    """List types without their description (each list type's own GET has it)."""
    listed = list_types.list_types(caller(router), cursor, limit, name, sort, order, updated_since)
    return summaries(listed, ListTypeSummary)


@router.post("/email/list-types", status_code=201)
def create_list_type(body: Annotated[ListTypeCreate, Body()]) -> ListType:
    return list_types.create_list_type(caller(router), body)


@router.get("/email/list-types/<list_type_id>")
def get_list_type(list_type_id: Id) -> ListType:
    return list_types.get_list_type(caller(router), list_type_id)


@router.patch("/email/list-types/<list_type_id>")
def change_list_type(list_type_id: Id, body: Annotated[ListTypePatch, Body()]) -> ListType:
    return list_types.change_list_type(caller(router), list_type_id, body)


@router.delete("/email/list-types/<list_type_id>")
def delete_list_type(list_type_id: Id) -> Response[None]:
    list_types.delete_list_type(caller(router), list_type_id)
    return no_content()


@router.get("/email/list-types/<list_type_id>/opt-outs")
def list_opt_outs(
    list_type_id: Id,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    address: Annotated[
        str | None, Query(min_length=1, max_length=254, description="The start of the address, case-insensitive")
    ] = None,
) -> Page[OptOut]:
    return list_types.opt_outs(caller(router), list_type_id, cursor, limit, address)


@router.post("/email/list-types/<list_type_id>/opt-outs", status_code=201)
def add_opt_out(list_type_id: Id, body: Annotated[OptOutCreate, Body()]) -> OptOut:
    return list_types.add_opt_out(caller(router), list_type_id, body.address, body.contact_id)


@router.delete("/email/list-types/<list_type_id>/opt-outs")
def remove_opt_out(list_type_id: Id, address: AddressQuery) -> Response[None]:
    list_types.remove_opt_out(caller(router), list_type_id, address)
    return no_content()
