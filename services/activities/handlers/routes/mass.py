"""Mass activities from a target group: create (now, at a time, recurring), list, read, make
active or passive, delete; each one's runs and their progress."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.activities import mass
from services.activities.domain.mass import MassActivity, MassActivityCreate, MassActivityUpdate, MassRun
from services.activities.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import (
    ID_PATTERN,
    Cursor,
    Id,
    Limit,
    NamePrefix,
    OptIdQuery,
    Order,
    SortByName,
    UpdatedSince,
    no_content,
)

router = APIGatewayHttpRouter()


@router.post("/mass-activities", status_code=201)
def create_mass_activity(body: Annotated[MassActivityCreate, Body()]) -> MassActivity:
    return mass.create(caller(router), body)


@router.get("/mass-activities")
def list_mass_activities(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    active: Annotated[bool | None, Query(description="Only the active (true) or the passive (false) ones")] = None,
    target_group_id: OptIdQuery = None,
    created_by: Annotated[str | None, Query(pattern=ID_PATTERN, description="The ones this user made")] = None,
    sort: SortByName = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[MassActivity]:
    filters = {
        "name": name,
        "active": None if active is None else str(active).lower(),
        "target_group_id": target_group_id,
        "created_by": created_by,
    }
    return mass.list_mass_activities(caller(router), cursor, limit, filters, sort, order, updated_since)


@router.get("/mass-activities/<mass_activity_id>")
def get_mass_activity(mass_activity_id: Id) -> MassActivity:
    return mass.get(caller(router), mass_activity_id)


@router.patch("/mass-activities/<mass_activity_id>")
def update_mass_activity(mass_activity_id: Id, body: Annotated[MassActivityUpdate, Body()]) -> MassActivity:
    return mass.update(caller(router), mass_activity_id, body)


@router.delete("/mass-activities/<mass_activity_id>")
def delete_mass_activity(mass_activity_id: Id) -> Response[None]:
    mass.delete(caller(router), mass_activity_id)
    return no_content()


@router.get("/mass-activities/<mass_activity_id>/runs")
def list_mass_activity_runs(
    mass_activity_id: Id,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    since: Annotated[
        AwareDatetime | None, Query(alias="from", description="Run at or after (inclusive), with a zone")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to", description="Run before (exclusive), with a zone")] = None,
) -> Page[MassRun]:
    return mass.list_runs(caller(router), mass_activity_id, cursor, limit, since, until)
