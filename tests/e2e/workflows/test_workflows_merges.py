"""Merged contacts reach workflows (issue 24 items 4-5): `contact.merged` moves every run of the
merged contacts to the survivor; of the runs waiting in one workflow one continues on the survivor
(with the survivor's record), the one due first, unless the survivor already waits there, and the
others stop (`merged`), so the survivor is not run twice. A consumer killed after each of its first
writes (the markers, the first moved run, the second) and the redeliveries leave each run on the
survivor once, and the sweep sends one mail a workflow; a second delivery and a late event about a
merged contact change nothing.

One test, one tenant: the test time is scarce.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from shared.ids import new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_moved,
    created,
    drain,
    envelopes,
    merge_envelope,
    ok,
    put_envelope,
    quick_redelivery,
    settle,
)
from tests.e2e.workflows.test_workflows import runs, sweep, workflow

pytestmark = pytest.mark.failed_deliveries  # the killed deliveries fail on purpose

EVENTS_QUEUE = "kontakt-dev-workflows-events"


def test_a_contact_merge_moves_runs_and_the_survivor_runs_once_per_workflow(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    both = workflow(admin, status="active", delay_minutes=60)
    mias = workflow(
        admin,
        status="active",
        delay_minutes=60,
        name="Mia's",
        conditions=[{"field": "department", "op": "equals", "value": "Mia"}],
    )
    sara = created(admin.post("/contacts", json={"first_name": "Sara", "email": "sara@example.fi"}))
    mia = created(admin.post("/contacts", json={"first_name": "Mia", "email": "mia@example.fi", "department": "Mia"}))
    assert settle(stack, lambda: len(runs(admin, both["id"])) == 2 and len(runs(admin, mias["id"])) == 1)
    # Mia again, later (her runs are due after Mia's): both wait in Mia's workflow, Sara does not.
    mia2 = created(admin.post("/contacts", json={"first_name": "Mia", "email": "mia2@example.fi", "department": "Mia"}))
    assert settle(stack, lambda: len(runs(admin, both["id"])) == 3 and len(runs(admin, mias["id"])) == 2)

    record = ok(admin.get(f"/contacts/{sara['id']}"))
    merged = merge_envelope(tenant, "contact", {**record, "version": record["version"] + 1}, [mia["id"], mia2["id"]])

    def moved() -> list[tuple[str, str, str, str | None]]:
        found = [*runs(admin, both["id"]), *runs(admin, mias["id"])]
        return sorted((r["workflow_id"], r["record_id"], r["status"], r.get("merged_from")) for r in found)

    expected = sorted(
        [
            (both["id"], sara["id"], "waiting", None),
            (both["id"], sara["id"], "stopped", mia["id"]),  # Sara waits there already: not twice
            (both["id"], sara["id"], "stopped", mia2["id"]),
            (mias["id"], sara["id"], "waiting", mia["id"]),  # due first: continues on Sara
            (mias["id"], sara["id"], "stopped", mia2["id"]),  # Sara waits there now: not twice
        ]
    )
    # The consumer dies after each of its first four writes, one a delivery: the two markers, Mia's
    # two runs (one continued on Sara, one stopped); the redelivery that moves Mia2's runs must see
    # that Sara now waits in Mia's workflow, though no run of the same delivery continued there.
    kills = [Fault("dynamodb", "TransactWriteItems", "after") for _ in range(4)]
    drain(stack)  # nothing else in flight: every kill is the merge's
    assert stack.functions is not None
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("WorkflowsConsumerFunction", faults=kills) as armed,
    ):
        put_envelope(stack, merged)
        assert settle(stack, lambda: all(f.fired for f in armed) and moved() == expected, attempts=40), moved()
    assert {r.get("reason") for r in [*runs(admin, both["id"]), *runs(admin, mias["id"])]} == {None, "merged"}
    path = f"/workflows/{both['id']}/runs"  # the merged contact's runs: 301 to the survivor's
    assert_moved(admin, path, mia["id"], sara["id"], record_id=mia["id"])

    # Delivered again, and a late update of Mia: nothing changes, no run starts for her.
    put_envelope(stack, {**merged, "id": new_id()})
    [late] = [e for e in envelopes(stack, tenant, "contact.created") if e["data"]["id"] == mia["id"]]
    put_envelope(stack, {**late, "id": new_id(), "type": "contact.created"})
    drain(stack)
    assert moved() == expected

    # When the delay is over Sara gets one mail a workflow (not one a continued run), at her address.
    sweep(stack, datetime.now(UTC) + timedelta(minutes=61))
    sent = envelopes(stack, tenant, "email.send_requested")
    assert sorted(e["causation"][-1]["automation_id"] for e in sent) == sorted([both["id"], mias["id"]])
    assert {(e["data"]["to"], e["data"]["contact_id"]) for e in sent} == {("sara@example.fi", sara["id"])}
