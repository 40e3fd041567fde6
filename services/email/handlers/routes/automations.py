"""Automatic emails: admins and managers manage automations; everyone reads them and their runs."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import automations
from services.email.domain.automations import Automation, AutomationCreate, AutomationPatch, AutomationRun
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, UpdatedSince, no_content

router = APIGatewayHttpRouter()


@router.get("/email/automations")
def list_automations(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[Automation]:
    return automations.list_automations(caller(router), cursor, limit, updated_since)


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
def list_runs(automation_id: Id, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[AutomationRun]:
    return automations.list_runs(caller(router), automation_id, cursor, limit)
