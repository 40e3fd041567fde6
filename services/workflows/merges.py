"""Merged contacts and accounts (`contact.merged`, `account.merged`, issue 24 item 4): their runs
move to the survivor (shared/merges.py; docs/decisions.md 2026-12-06).

A run names its record (`record_id`, listed under it in `by_contact`). Every run of a merged record
moves to the survivor, finished ones as history. A waiting run continues on the survivor, with the
survivor's record from the event (its actions then use the survivor's address, owner ...), unless
the survivor already waits in the same workflow: the record would be enrolled twice, so the moved
run stops (`merged`) and sends nothing. Of several merged records waiting in one workflow, the one
due first continues.

The kernel's markers are written first (a late `contact.*` / `account.*` about a merged id starts no
run: runs.py); each run moves in its own transaction, re-read first and skipped once it names the
survivor, in the same order on every delivery, so a crash anywhere and a second delivery end alike.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from services.workflows.runs import RUN, STORE
from services.workflows.store import Record
from services.workflows.subscriptions import subscribe
from shared import clock
from shared.events import Envelope
from shared.merges import mark_merged, merge_of, move_each, resolve
from shared.observability import logger
from shared.store import UnitOfWork, tenant_key


def _runs_of(tenant: str, record_id: str) -> list[Record]:
    return list(Record.by_contact.query(tenant_key(tenant, "RECORD", record_id, RUN.upper())))


def _order(run: Record) -> tuple[bool, str, str]:
    """Waiting runs first, the one due first first: it is the one that continues."""
    return run.data.get("status") != "waiting", str(run.data.get("due_at") or ""), run.record_id


class _Move:
    """Moves one run of a merged record (see the module); `continued`: the workflows a run was
    continued in by this delivery (the index may not show that run yet)."""

    def __init__(self, tenant: str, entity: str, merged: set[str], target: str, record: dict[str, Any] | None):
        self.tenant, self.entity, self.merged, self.target, self.record = tenant, entity, merged, target, record
        self.continued: set[str] = set()
        self._waiting: dict[str, set[str]] | None = None

    def _survivor_waits(self, workflow_id: str, run_id: str) -> bool:
        if workflow_id in self.continued:
            return True
        if self._waiting is None:  # the survivor's runs, read once a delivery (not once a moved run)
            self._waiting = {}
            for r in _runs_of(self.tenant, self.target):
                if r.data.get("status") == "waiting":
                    self._waiting.setdefault(str(r.data.get("workflow_id")), set()).add(r.record_id)
        return bool(self._waiting.get(workflow_id, set()) - {run_id})

    def __call__(self, run_id: str) -> bool:
        run = STORE.get(self.tenant, RUN, run_id)
        if run is None or run.data.get("record_id") not in self.merged or run.data.get("entity") != self.entity:
            return False
        data = {**run.data, "record_id": self.target, "merged_from": run.data["record_id"]}
        workflow_id = str(data["workflow_id"])
        if data.get("status") == "waiting" and self._survivor_waits(workflow_id, run_id):
            data = {k: v for k, v in data.items() if k != "waiting"}
            data.update(status="stopped", reason="merged", finished_at=clock.now().isoformat())
            run.set_due(self.tenant, None)
        elif data.get("status") == "waiting":
            waiting = dict(data["waiting"])
            waiting["record"] = self.record or {**(waiting.get("record") or {}), "id": self.target}
            data["waiting"] = waiting
            self.continued.add(workflow_id)
        run.gsi2pk = tenant_key(self.tenant, "RECORD", self.target, RUN.upper())
        uow = UnitOfWork()
        STORE.replace(uow, run, data)
        uow.commit()
        return True


@subscribe("contact.merged")
@subscribe("account.merged")
def move_runs(envelope: Envelope, uow: UnitOfWork) -> None:
    entity, merge = merge_of(envelope)
    tenant = envelope.tenant_id
    mark_merged(STORE, tenant, entity, merge)
    target = resolve(STORE, tenant, entity, merge.id)
    merged = set(merge.merged_ids) - {target}
    runs = sorted((r for merged_id in sorted(merged) for r in _runs_of(tenant, merged_id)), key=_order)
    # a survivor merged on since (a chain) has no current record here: the run keeps its own copy
    record = {**merge.record, "id": target} if merge.record and target == merge.id else None
    moved = move_each([r.record_id for r in runs], partial(_Move(tenant, entity, merged, target, record)))
    logger.info("runs moved to the survivor", extra={"entity": entity, "survivor_id": target, "runs": moved})
