"""A workflow's runs: admins only, as the workflows."""

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.workflows import run_log
from services.workflows.domain.workflows import WorkflowRun
from services.workflows.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, answers

router = APIGatewayHttpRouter()


@router.get("/workflows/<workflow_id>/runs")
@answers(301)  # a merged record's id: the same list on the survivor
def list_runs(
    workflow_id: Id, record_id: OptIdQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[WorkflowRun]:
    return run_log.list_runs(caller(router), workflow_id, record_id, cursor, limit)


@router.get("/workflows/<workflow_id>/runs/<run_id>")
def get_run(workflow_id: Id, run_id: Id) -> WorkflowRun:
    return run_log.get_run(caller(router), workflow_id, run_id)
