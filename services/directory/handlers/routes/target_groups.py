"""Target groups: contacts chosen by conditions and by hand, for campaigns and call lists."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import target_groups
from services.directory.domain.conditions import (
    TargetGroup,
    TargetGroupCreate,
    TargetGroupMembersChange,
    TargetGroupSummary,
    TargetGroupUpdate,
)
from services.directory.handlers.common import caller
from services.directory.handlers.routes.params import NamePrefix, Order, Sort
from shared.pagination import DEFAULT_LIMIT, Page, summaries
from shared.routes import Cursor, Id, Limit, OptIdQuery, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.post("/target-groups", status_code=201)
def create_target_group(body: Annotated[TargetGroupCreate, Body()]) -> TargetGroup:
    return target_groups.create(caller(router), body)


@router.get("/target-groups")
def list_target_groups(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    owner_id: OptIdQuery = None,
    sort: Sort = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[TargetGroupSummary]:
    """Target groups without their description and conditions (each group's own GET has them)."""
    filters = {"name": name, "owner_id": owner_id}
    listed = target_groups.list_groups(caller(router), cursor, limit, filters, sort, order, updated_since)
    return summaries(listed, TargetGroupSummary)


@router.get("/target-groups/<group_id>")
def get_target_group(group_id: Id) -> TargetGroup:
    return target_groups.get(caller(router), group_id)


@router.patch("/target-groups/<group_id>")
def update_target_group(group_id: Id, body: Annotated[TargetGroupUpdate, Body()]) -> TargetGroup:
    return target_groups.update(caller(router), group_id, body)


@router.delete("/target-groups/<group_id>")
def delete_target_group(group_id: Id) -> Response[None]:
    target_groups.delete(caller(router), group_id)
    return no_content()


@router.post("/target-groups/<group_id>/members")
def change_target_group_members(group_id: Id, body: Annotated[TargetGroupMembersChange, Body()]) -> TargetGroup:
    return target_groups.change_members(caller(router), group_id, body)


@router.get("/target-groups/<group_id>/preview")
def preview_target_group(group_id: Id) -> target_groups.Preview:
    return target_groups.preview(caller(router), group_id)
