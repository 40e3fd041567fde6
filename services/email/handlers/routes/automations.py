"""Automatic emails: admins and managers manage automations; everyone reads them and their runs."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.email import automations
from services.email.domain.automations import Automation, AutomationCreate, AutomationPatch, AutomationRun
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, NamePrefix, OptIdQuery, Order, SortByName, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.get("/email/automations")
def list_automations(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    name: NamePrefix = None,
    active: Annotated[bool | None, Query(description="Only the active (true) or the inactive (false) ones")] = None,
    template_id: OptIdQuery = None,
    list_type_id: OptIdQuery = None,
    target_group_id: OptIdQuery = None,
    sort: SortByName = None,
    order: Order = "asc",
    updated_since: UpdatedSince = None,
) -> Page[Automation]:
    filters = {
        "name": name,
        "active": None if active is None else str(active).lower(),
        "template_id": template_id,
        "list_type_id": list_type_id,
        "target_group_id": target_group_id,
    }
    return automations.list_automations(caller(router), cursor, limit, filters, sort, order, updated_since)


@router.post("/email/automations", status_code=201)
def create_automation(body: Annotated[AutomationCreate, Body()]) -> Automation:
    return automations.create(caller(router), body)


@router.get("/email/automations/<automation_id>")
def get_automation(automation_id: Id) -> Automation:
    return automations.get(caller(router), automation_id)


@router.patch("/email/automations/<automation_id>")
def change_automation(automation_id: Id, body: Annotated[AutomationPatch, Body()]) -> Automation:
    return automations.update(caller(router), automation_id, body)


@router.delete("/email/automations/<automation_id>")
def delete_automation(automation_id: Id) -> Response[None]:
    automations.delete(caller(router), automation_id)
    return no_content()


@router.get("/email/automations/<automation_id>/runs")
def list_runs(
    automation_id: Id,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    since: Annotated[
        AwareDatetime | None, Query(alias="from", description="Scheduled at or after (inclusive), with a zone")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(alias="to", description="Scheduled before (exclusive), with a zone")
    ] = None,
) -> Page[AutomationRun]:
    return automations.list_runs(caller(router), automation_id, cursor, limit, since, until)
