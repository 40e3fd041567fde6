"""A workflow's runs as the API shows them, newest first (records: runs.py)."""

from services.workflows.domain.workflows import WorkflowRun
from services.workflows.runs import RUN
from services.workflows.service import Caller
from services.workflows.store import Record
from services.workflows.workflows import WORKFLOW
from shared.errors import NotFound
from shared.pagination import Page
from shared.service import model_of, partition_page
from shared.store import tenant_key


def _workflow(caller: Caller, workflow_id: str) -> None:
    caller.require_admin()
    if caller.store.get(caller.tenant, WORKFLOW, workflow_id) is None:
        raise NotFound(f"No workflow {workflow_id}.")


def list_runs(
    caller: Caller, workflow_id: str, record_id: str | None, cursor: str | None, limit: int
) -> Page[WorkflowRun]:
    """The workflow's runs, newest first; `record_id` keeps one record's (page-wise: a page may be
    shorter than `limit`, with a cursor)."""
    _workflow(caller, workflow_id)
    return partition_page(
        caller,
        f"workflow-runs:{workflow_id}:{record_id or ''}",
        cursor,
        limit,
        Record.by_type,
        tenant_key(caller.tenant, "WORKFLOW", workflow_id, RUN.upper()),
        Record.gsi1sk,
        WorkflowRun,
        newest_first=True,
        condition=Record.fields["record_id"] == record_id if record_id else None,
    )


def get_run(caller: Caller, workflow_id: str, run_id: str) -> WorkflowRun:
    _workflow(caller, workflow_id)
    record = caller.store.get(caller.tenant, RUN, run_id)
    if record is None or record.data.get("workflow_id") != workflow_id:
        raise NotFound(f"No run {run_id} of workflow {workflow_id}.")
    return model_of(record, WorkflowRun)
