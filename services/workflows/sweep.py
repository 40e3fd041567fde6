"""The minute sweep of delayed runs: a schedule puts `workflows.sweep` on the jobs queue every
minute; the sweep reads the `by_due` index (shared/due.py) up to the firing's time and, per run due:

- waiting, its workflow still active: the actions of the revision the run started with, for the
  record as its event showed it, with the chain it started in (runs.steps_of); completed;
- waiting, its workflow paused or deleted meanwhile: stopped (`paused`, `deleted`), nothing sent;
- anything else (stopped by an erasure, moved since the index was read): taken out of the index.

Each run in one transaction with its command events, conditioned on the version read: a sweep that
runs twice (a redelivered job, two firings) acts once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.workflows.runs import STORE, steps_of
from services.workflows.store import Record, revision_id
from services.workflows.subscriptions import job
from shared import clock, due
from shared.events import Cause
from shared.store import ConcurrentUpdate, UnitOfWork
from shared.subscriptions import Job

WORKFLOW = "workflow"  # workflows.py's kinds (not imported: the jobs function loads no API models)
REVISION = "revision"


@job("workflows.sweep")
def sweep(current: Job) -> None:
    """Act on every run due by the cutoff; one that fails stays in the index for the next sweep."""
    due.sweep(Record, due.cutoff_of(current.scheduled_time, clock.now()), act, "workflows")


def _finish(tenant: str, run: Record, uow: UnitOfWork) -> str:
    """The run's actions, or why it stops: its data after, staged in `uow`; the outcome's name."""
    data = dict(run.data)
    waiting: dict[str, Any] = data.pop("waiting", None) or {}
    workflow_id = str(data["workflow_id"])
    keys = [(WORKFLOW, workflow_id), (REVISION, revision_id(workflow_id, int(data["revision"])))]
    found = STORE.get_each(tenant, keys)
    current, revision = found.get(keys[0]), found.get(keys[1])
    now = clock.now().isoformat()
    if current is None or revision is None:
        data.update(status="stopped", reason="deleted", finished_at=now)
    elif current.data.get("status") != "active":
        data.update(status="stopped", reason="paused", finished_at=now)
    else:
        cause = (
            str(waiting.get("correlation_id") or run.record_id),
            [Cause.model_validate(c) for c in waiting.get("causation") or []],
        )
        definition = {**revision.data, "id": workflow_id, "created_by": current.data.get("created_by")}
        steps = steps_of(tenant, cause, uow, definition, run.record_id, dict(waiting.get("record") or {}))
        data.update(status="completed", steps=steps, finished_at=now)
    run.set_due(tenant, None)
    STORE.replace(uow, run, data)
    return str(data["status"])


def act(pk: str, sk: str, cutoff: datetime) -> str:
    """What the sweep does to one due run (see the module); returns what it did."""
    found = due.due_now(Record, pk, sk, cutoff)
    if found is None:
        return "gone"  # or moved later since the index was read
    run, tenant, _ = found
    uow = UnitOfWork()
    if run.data.get("status") == "waiting":
        outcome = _finish(tenant, run, uow)
    else:
        run.set_due(tenant, None)
        STORE.replace(uow, run, run.data)
        outcome = "unlisted"
    try:
        uow.commit()
    except ConcurrentUpdate:  # another sweep acted on it since the read
        return "settled"
    return outcome
