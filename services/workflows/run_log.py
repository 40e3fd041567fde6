"""A workflow's runs as the API shows them, newest first (records: runs.py)."""

from services.workflows.domain.workflows import WorkflowRun
from services.workflows.runs import RUN
from services.workflows.service import Caller
from services.workflows.store import Record
from services.workflows.workflows import WORKFLOW
from shared.errors import NotFound
from shared.merges import redirect_if_merged
from shared.pagination import Page
from shared.service import model_of, partition_page
from shared.store import tenant_key


def _workflow(caller: Caller, workflow_id: str) -> Record:
    caller.require_admin()
    record = caller.store.get(caller.tenant, WORKFLOW, workflow_id)
    if record is None:
        raise NotFound(f"No workflow {workflow_id}.")
    return record


def list_runs(
    caller: Caller, workflow_id: str, record_id: str | None, cursor: str | None, limit: int
) -> Page[WorkflowRun]:
    """The workflow's runs, newest first; `record_id` keeps one record's (page-wise: a page may be
    shorter than `limit`, with a cursor); a merged `record_id` answers 301 to the survivor's."""
    entity = _workflow(caller, workflow_id).data["trigger"]["entity"]
    named = {"contact": None, "account": None, entity: record_id}
    redirect_if_merged(caller.store, caller.tenant, contact=named["contact"], account=named["account"])
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
