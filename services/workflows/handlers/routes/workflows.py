"""Workflows: admins only (they act for the whole tenant, as its automations)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.workflows import workflows
from services.workflows.domain.workflows import Workflow, WorkflowCreate, WorkflowSummary, WorkflowUpdate
from services.workflows.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page, summaries
from shared.routes import Cursor, Id, Limit, UpdatedSince, answers, no_content

router = APIGatewayHttpRouter()


@router.get("/workflows")
def list_workflows(
    cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT, updated_since: UpdatedSince = None
) -> Page[WorkflowSummary]:
    return summaries(workflows.list_workflows(caller(router), cursor, limit, updated_since), WorkflowSummary)


@router.post("/workflows", status_code=201)
@answers(409)  # the tenant has MAX_ACTIVE active workflows
def create_workflow(body: Annotated[WorkflowCreate, Body()]) -> Workflow:
    return workflows.create_workflow(caller(router), body)


@router.get("/workflows/<workflow_id>")
def get_workflow(workflow_id: Id) -> Workflow:
    return workflows.get_workflow(caller(router), workflow_id)


@router.patch("/workflows/<workflow_id>")
def update_workflow(workflow_id: Id, body: Annotated[WorkflowUpdate, Body()]) -> Workflow:
    return workflows.update_workflow(caller(router), workflow_id, body)


@router.delete("/workflows/<workflow_id>")
def delete_workflow(workflow_id: Id) -> Response[None]:
    workflows.delete_workflow(caller(router), workflow_id)
    return no_content()
