"""The tenant's user groups (teams; their members are set on the users)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import admin
from services.directory.domain.models import Group, GroupCreate
from services.directory.handlers.common import caller
from services.directory.handlers.routes.params import NamePrefix, Order, Sort
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince

router = APIGatewayHttpRouter()


@router.post("/groups", status_code=201)
def create_group(body: Annotated[GroupCreate, Body()]) -> Group:
    return admin.create_group(caller(router), body)


@router.get("/groups")
def list_groups(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    sort: Sort = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[Group]:
    return admin.list_groups(caller(router), cursor, limit, name, sort, order, updated_since)


@router.get("/groups/<group_id>")
def get_group(group_id: Id) -> Group:
    return admin.get_group(caller(router), group_id)
