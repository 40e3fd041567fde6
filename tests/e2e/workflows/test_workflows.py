"""Workflows through `kontakt dev` (issue 23, items 1-3): admins define them, entity events on the bus
start runs that ask the email service for a mail, the directory for a field, activities for a task
and webhooks for a call, a redelivered event or command does nothing twice, and a chain of workflow
actions that comes back to its workflow and record stops with its reason (two workflows that set
each other's trigger field, through the directory and the bus)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from infra.runtime import LocalRuntime
from services.webhooks.domain.messages import signature
from shared.ids import new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, envelopes, put_envelope, settle, walk

TRIGGER = {"entity": "contact", "on": "created"}
EMAIL = {"type": "send_email", "template_id": "01J0000000000000000000000"}


def workflow(admin: Api, **values: Any) -> dict[str, Any]:
    body = {"name": "Welcome", "trigger": TRIGGER, "actions": [EMAIL], **values}
    return created(admin.post("/workflows", json=body))


def runs(admin: Api, workflow_id: str, **params: Any) -> list[dict[str, Any]]:
    return walk(admin, f"/workflows/{workflow_id}/runs", limit=50, **params)


def test_a_workflow_is_defined_changed_in_revisions_and_kept_to_its_tenant(
    stack: LocalRuntime, api: Api, admin: Api, tenant: str
) -> None:
    flow = workflow(admin, conditions=[{"field": "department", "op": "equals", "value": "Sales"}])
    assert (flow["status"], flow["revision"], flow["created_by"]) == ("paused", 1, "admin-1")
    got = admin.get(f"/workflows/{flow['id']}")
    assert got.json() == flow and got.headers["ETag"] == f'"{flow["version"]}"'

    resumed = admin.patch(
        f"/workflows/{flow['id']}", json={"status": "active"}, headers={"If-Match": got.headers["ETag"]}
    )
    assert resumed.status_code == 200 and resumed.json()["revision"] == 1  # status alone is no new revision
    stale = admin.patch(f"/workflows/{flow['id']}", json={"name": "Late"}, headers={"If-Match": got.headers["ETag"]})
    assert_problem(stale, 412)
    changed = admin.patch(f"/workflows/{flow['id']}", json={"trigger": {"entity": "contact", "on": "updated"}}).json()
    assert changed["revision"] == 2 and changed["status"] == "active" and changed["name"] == "Welcome"
    assert [w["id"] for w in walk(admin, "/workflows")] == [flow["id"]]

    assert_problem(api.as_(tenant, "user-1", "user").get(f"/workflows/{flow['id']}"), 403)
    stranger = api.as_("other" + tenant, "admin-1", "admin")
    assert_problem(stranger.get(f"/workflows/{flow['id']}"), 404)
    assert_problem(stranger.patch(f"/workflows/{flow['id']}", json={"status": "paused"}), 404)
    assert_problem(stranger.get(f"/workflows/{flow['id']}/runs"), 404)

    bad = {"entity": "contact", "on": "field_changed"}
    assert_problem(
        admin.post("/workflows", json={"name": "x", "trigger": bad, "actions": [EMAIL]}), 422, "trigger.field"
    )
    on_account = {"entity": "account", "on": "created"}
    sms = {"type": "send_sms", "text": "Hi"}
    assert_problem(
        admin.post("/workflows", json={"name": "x", "trigger": on_account, "actions": [sms]}), 422, "actions.0.type"
    )
    odd = [{"field": "email", "op": "is_empty"}]
    response = admin.post(
        "/workflows", json={"name": "x", "trigger": on_account, "conditions": odd, "actions": [EMAIL]}
    )
    assert_problem(response, 422, "conditions.0.field")
    assert_problem(admin.post("/workflows", json={"name": "x", "trigger": TRIGGER, "actions": []}), 422, "actions")
    assert_problem(admin.post("/workflows", json={"name": "x", "trigger": TRIGGER, "actions": [{"type": "x"}]}), 422)
    assert_problem(admin.patch(f"/workflows/{flow['id']}", json={"actions": None}), 422, "actions")

    assert admin.patch(f"/workflows/{flow['id']}", json={"status": "active"}).status_code == 200  # as it is
    assert admin.delete(f"/workflows/{flow['id']}").status_code == 204
    assert_problem(admin.get(f"/workflows/{flow['id']}"), 404)

    # Each change is one event for the audit trail, its fields old -> new; a PATCH that changes nothing none.
    settle(stack, lambda: envelopes(stack, tenant, "workflow.deleted"))
    events = [e for e in envelopes(stack, tenant) if e["type"].startswith("workflow.")]
    kinds = ["workflow.created", "workflow.updated", "workflow.updated", "workflow.deleted"]
    assert [e["type"] for e in events] == kinds
    assert events[1]["changes"] == [{"field": "status", "old": "paused", "new": "active"}]
    assert {"field": "revision", "old": 1, "new": 2} in events[2]["changes"]
    last = {"name": "Welcome", "status": "active", "entity": "contact", "on": "updated", "revision": 2}
    assert events[3]["data"] == {"id": flow["id"], **last, "actions": ["send_email"]}


def test_a_new_contact_that_meets_the_conditions_gets_the_mail_once(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    template = created(
        admin.post(
            "/email/templates", json={"name": "Hi", "subject": "Welcome {{ contact.first_name }}", "html": "<p>Hi</p>"}
        )
    )
    action = {"type": "send_email", "template_id": template["id"]}
    conditions = [{"field": "department", "op": "equals", "value": "sales"}]
    flow = workflow(admin, status="active", conditions=conditions, actions=[action])
    paused = workflow(admin, actions=[action])  # paused: never runs

    maija = created(
        admin.post("/contacts", json={"first_name": "Maija", "email": "maija@example.fi", "department": "Sales"})
    )
    created(admin.post("/contacts", json={"first_name": "Pekka", "email": "pekka@example.fi", "department": "Support"}))
    [sent] = settle(
        stack, lambda: [e for e in envelopes(stack, tenant, "email.sent") if e["data"]["requester"] == "workflows"]
    )
    assert sent["data"]["contact_id"] == maija["id"] and sent["data"]["to"] == "maija@example.fi"

    [run] = runs(admin, flow["id"])
    assert (run["record_id"], run["status"], run["revision"], run["event"]["type"]) == (
        maija["id"],
        "completed",
        1,
        "contact.created",
    )
    [step] = run["steps"]
    assert step["outcome"] == "requested" and step["type"] == "send_email"
    [request] = [e for e in envelopes(stack, tenant, "email.send_requested") if e["id"] == step["event_id"]]
    assert request["causation"][-1]["automation_id"] == flow["id"]
    assert request["causation"][-1]["record_id"] == maija["id"]
    assert request["causation"][-1]["event_id"] == run["event"]["id"]
    assert admin.get(f"/workflows/{flow['id']}/runs/{run['id']}").json() == run
    assert runs(admin, paused["id"]) == []

    [event] = [e for e in envelopes(stack, tenant, "contact.created") if e["data"]["id"] == maija["id"]]
    put_envelope(stack, event)  # delivered again: no second run, no second mail
    settle(stack, lambda: True)
    assert [r["id"] for r in runs(admin, flow["id"], record_id=maija["id"])] == [run["id"]]
    assert len([e for e in envelopes(stack, tenant, "email.send_requested")]) == 1


def test_a_chain_that_comes_back_to_its_workflow_and_record_stops(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    """Two workflows that answer each other's changes would run forever; the chain in the envelope
    stops the second visit of a workflow to a record (`loop`) and a chain of five workflow actions."""
    flow = workflow(admin, status="active", trigger={"entity": "contact", "on": "updated"})
    contact = created(admin.post("/contacts", json={"first_name": "Ville", "department": "Sales"}))

    def updated(causation: list[dict[str, Any]]) -> dict[str, Any]:
        record = {**contact, "department": "Support"}
        return {
            "id": new_id(), "type": "contact.updated", "version": 1, "tenant_id": tenant,
            "occurred_at": datetime.now(UTC).isoformat(), "actor": {"type": "service", "id": "directory"},
            "correlation_id": new_id(), "causation": causation,
            "data": {"id": contact["id"], "record": record, "changed": ["department"]},
        }  # fmt: skip

    def link(automation_id: str, record_id: str) -> dict[str, Any]:
        return {
            "event_id": new_id(),
            "event_type": "contact.updated",
            "automation_id": automation_id,
            "record_id": record_id,
        }

    put_envelope(stack, updated([link("other-workflow", contact["id"]), link(flow["id"], contact["id"])]))
    put_envelope(stack, updated([link(f"workflow-{n}", contact["id"]) for n in range(5)]))
    put_envelope(stack, updated([link(flow["id"], "another-contact")]))
    done = settle(stack, lambda: len(found := runs(admin, flow["id"])) == 3 and found)
    assert sorted((r["status"], r["reason"] or "") for r in done) == [
        ("completed", ""),
        ("stopped", "chain_too_deep"),
        ("stopped", "loop"),
    ]
    assert all(r["steps"] == [] for r in done if r["status"] == "stopped")
    assert all(r["event"]["depth"] in (1, 2, 5) for r in done)


def sweep(stack: LocalRuntime, moment: datetime) -> None:
    """What the minute schedule puts on the workflows jobs queue, for a firing at `moment`."""
    assert stack.stack is not None
    queue = stack.stack.queues["WorkflowsJobsQueue"]
    body = {"job": "workflows.sweep", "scheduled_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    stack.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(body))
    stack.drain()


def test_a_delayed_run_waits_then_acts_by_the_revision_it_started_with(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    """The sweep after the delay sends what the run's revision said, though the workflow changed
    meanwhile; a paused workflow's waiting run stops; an erased contact's waiting run drops its copy."""
    flow = workflow(admin, status="active", delay_minutes=60)
    later = workflow(admin, status="active", delay_minutes=60, name="Paused later")
    anna = created(admin.post("/contacts", json={"first_name": "Anna", "email": "anna@example.fi"}))
    erased = created(admin.post("/contacts", json={"first_name": "Eero", "email": "eero@example.fi"}))
    waiting = settle(stack, lambda: len(found := runs(admin, flow["id"])) == 2 and found)
    assert all(r["status"] == "waiting" and r["steps"] == [] and r["due_at"] for r in waiting)
    assert envelopes(stack, tenant, "email.send_requested") == []

    changed = admin.patch(f"/workflows/{flow['id']}", json={"actions": [{"type": "send_sms", "text": "Hei"}]}).json()
    assert changed["revision"] == 2
    assert admin.patch(f"/workflows/{later['id']}", json={"status": "paused"}).status_code == 200
    assert admin.post(f"/contacts/{erased['id']}/erase").status_code == 200
    settle(stack, lambda: [r for r in runs(admin, flow["id"]) if r["status"] == "stopped"])

    sweep(stack, datetime.now(UTC) + timedelta(minutes=61))
    done = {r["record_id"]: r for r in runs(admin, flow["id"])}
    assert (done[erased["id"]]["status"], done[erased["id"]]["reason"]) == ("stopped", "erased")
    assert (done[anna["id"]]["status"], done[anna["id"]]["revision"]) == ("completed", 1)
    [step] = done[anna["id"]]["steps"]
    assert step["type"] == "send_email" and step["outcome"] == "requested"  # revision 1's action, not the SMS
    assert {r["record_id"]: (r["status"], r["reason"]) for r in runs(admin, later["id"])} == {
        anna["id"]: ("stopped", "paused"),
        erased["id"]: ("stopped", "erased"),
    }
    [request] = envelopes(stack, tenant, "email.send_requested")
    assert request["data"]["to"] == "anna@example.fi" and request["causation"][-1]["automation_id"] == flow["id"]
    sweep(stack, datetime.now(UTC) + timedelta(minutes=62))  # again: nothing twice
    assert len(envelopes(stack, tenant, "email.send_requested")) == 1


def test_the_actions_the_owning_services_apply_show_to_a_client_once(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    """Set a field (the directory, with its picklists: a code not in the list changes nothing, and
    the refusal comes back as the step's outcome), create
    a task for the record's owner (activities: in their to-do) and call a webhook (one signed message
    to the endpoint the action names, whatever its `event_types`); each command delivered again
    applies once."""
    receiver = f"flows-{tenant}"
    hook = created(
        admin.post(
            "/webhooks/endpoints",
            json={"url": f"{stack.api_url}/dev/webhooks/{receiver}", "event_types": ["ticket.closed"]},
        )
    )
    actions = [
        {"type": "set_field", "field": "sales_status", "value": "won"},
        {"type": "set_field", "field": "category", "value": "no-such-code"},  # the directory refuses it
        {"type": "create_task", "subject": "Call the new contact", "due_in_minutes": 60 * 24},
        {"type": "call_webhook", "endpoint_id": hook["id"]},
    ]
    flow = workflow(admin, status="active", actions=actions)
    contact = created(admin.post("/contacts", json={"first_name": "Aino", "department": "Sales"}))

    def received() -> list[dict[str, Any]]:
        return list(requests.get(f"{stack.api_url}/dev/webhooks", params={"name": receiver}, timeout=10).json())

    def refused() -> bool:
        listed = runs(admin, flow["id"])
        return bool(listed) and listed[0]["steps"][1]["outcome"] == "refused"

    settle(stack, lambda: received() and walk(admin, "/todo") and envelopes(stack, tenant, "contact.updated"))
    settle(stack, refused)  # the directory's answer to the refused command, back in the run
    [run] = runs(admin, flow["id"])
    assert [(s["type"], s["outcome"]) for s in run["steps"]] == [
        ("set_field", "requested"),
        ("set_field", "refused"),
        ("create_task", "requested"),
        ("call_webhook", "requested"),
    ]
    assert run["steps"][1]["reason"].startswith("category: ")
    got = admin.get(f"/contacts/{contact['id']}").json()
    assert (got["sales_status"], got["category"]) == ("won", None)
    [updated] = envelopes(stack, tenant, "contact.updated")
    assert updated["data"]["changed"] == ["sales_status"] and updated["actor"]["id"] == "admin-1"
    assert [c["automation_id"] for c in updated["causation"]] == [flow["id"], None]  # the workflow, its request

    [task] = walk(admin, "/todo")
    assert (task["kind"], task["subject"]) == ("task", "Call the new contact")
    assert task["links"]["contact_id"] == contact["id"]
    activity = admin.get(f"/activities/{task['id']}").json()
    assert (activity["owner_id"], activity["source"], activity["source_id"]) == ("admin-1", "workflow", flow["id"])

    [call] = received()
    body = json.loads(call["body"])
    assert (call["status"], body["type"], body["data"]["record_id"]) == (204, "webhook.workflow_call", contact["id"])
    assert body["data"]["run_id"] == run["id"] and body["data"]["trigger_event_type"] == "contact.created"
    headers = call["headers"]
    assert headers["webhook-signature"] == signature(
        hook["secret"], headers["webhook-id"], int(headers["webhook-timestamp"]), call["body"]
    )

    for step in run["steps"]:  # every command delivered again: nothing twice
        [command] = [e for e in envelopes(stack, tenant) if e["id"] == step["event_id"]]
        put_envelope(stack, command)
    settle(stack, lambda: True)
    assert len(envelopes(stack, tenant, "contact.updated")) == 1
    assert len(envelopes(stack, tenant, "contact.update_refused")) == 1
    assert len(walk(admin, "/todo")) == 1 and len(received()) == 1


def test_two_workflows_that_set_each_others_trigger_field_stop_with_a_reason(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    """Ping sets "Pong" when the department becomes "Ping", Pong sets "Ping" when it becomes "Pong":
    through the directory and the bus, the chain that comes back to Ping stops (`loop`)."""

    def flow(name: str, when: str, then: str) -> dict[str, Any]:
        trigger = {"entity": "contact", "on": "field_changed", "field": "department", "to": when}
        action = {"type": "set_field", "field": "department", "value": then}
        return workflow(admin, name=name, status="active", trigger=trigger, actions=[action])

    ping, pong = flow("Ping", "Ping", "Pong"), flow("Pong", "Pong", "Ping")
    contact = created(admin.post("/contacts", json={"first_name": "Ville"}))
    assert admin.patch(f"/contacts/{contact['id']}", json={"department": "Ping"}).status_code == 200

    stopped = settle(stack, lambda: [r for r in runs(admin, ping["id"]) if r["status"] == "stopped"])
    settle(stack, lambda: True)  # whatever else the chain would do, done
    assert sorted((r["status"], r["reason"] or "") for r in runs(admin, ping["id"])) == [
        ("completed", ""),
        ("stopped", "loop"),
    ]
    assert [(r["status"], r["event"]["depth"]) for r in runs(admin, pong["id"])] == [("completed", 1)]
    assert stopped[0]["event"]["depth"] == 2 and stopped[0]["steps"] == []
    updates = [e for e in envelopes(stack, tenant, "contact.updated") if e["data"]["id"] == contact["id"]]
    # bounded: the person's change and one of each workflow
    assert [e["data"]["record"]["department"] for e in updates] == ["Ping", "Pong", "Ping"]
    assert admin.get(f"/contacts/{contact['id']}").json()["department"] == "Ping"


def test_a_run_waits_until_a_date_field_of_its_record(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    """`delay_until`: due a day before the contact's consent date (its day's start in UTC); a contact
    without one stops (`no_date`); the sweep before the time leaves the run waiting, the one after acts."""
    bad = {"name": "x", "trigger": TRIGGER, "actions": [EMAIL], "delay_until": {"field": "department"}}
    assert_problem(admin.post("/workflows", json=bad), 422, "delay_until.field")
    renew = {"type": "set_field", "field": "department", "value": "Renewal"}
    until = {"field": "consent_date", "offset_minutes": -60 * 24}
    flow = workflow(admin, status="active", delay_until=until, actions=[renew])
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    dated = created(admin.post("/contacts", json={"first_name": "Sanna", "consent_date": day.isoformat()}))
    undated = created(admin.post("/contacts", json={"first_name": "Tuomas"}))

    started = settle(stack, lambda: len(listed := runs(admin, flow["id"])) == 2 and listed)
    found = {r["record_id"]: r for r in started}
    assert (found[undated["id"]]["status"], found[undated["id"]]["reason"]) == ("stopped", "no_date")
    due = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1)
    assert found[dated["id"]]["status"] == "waiting" and datetime.fromisoformat(found[dated["id"]]["due_at"]) == due

    sweep(stack, due - timedelta(minutes=1))
    assert admin.get(f"/workflows/{flow['id']}/runs/{found[dated['id']]['id']}").json()["status"] == "waiting"
    sweep(stack, due + timedelta(minutes=1))
    settle(stack, lambda: admin.get(f"/contacts/{dated['id']}").json()["department"] == "Renewal")
    done = admin.get(f"/workflows/{flow['id']}/runs/{found[dated['id']]['id']}").json()
    assert done["status"] == "completed" and [s["outcome"] for s in done["steps"]] == ["requested"]


def test_a_field_changed_from_a_value_fires_on_that_old_value_only(stack: LocalRuntime, admin: Api) -> None:
    """`from`: read from the contact.updated envelope's `changes` (old -> new) the directory fills."""
    trigger = {"entity": "contact", "on": "field_changed", "field": "department", "from": "Sales"}
    flow = workflow(admin, status="active", trigger=trigger)
    assert flow["trigger"] == {**trigger, "to": None}
    was_sales = created(admin.post("/contacts", json={"first_name": "Aino", "department": "Sales"}))
    was_support = created(admin.post("/contacts", json={"first_name": "Eino", "department": "Support"}))
    renamed = created(admin.post("/contacts", json={"first_name": "Olli", "department": "Sales"}))
    for contact in (was_sales, was_support):
        assert admin.patch(f"/contacts/{contact['id']}", json={"department": "Marketing"}).status_code == 200
    assert admin.patch(f"/contacts/{renamed['id']}", json={"first_name": "Olavi"}).status_code == 200

    [run] = settle(stack, lambda: runs(admin, flow["id"]))
    settle(stack, lambda: True)  # the other two updates handled as well
    assert [r["record_id"] for r in runs(admin, flow["id"])] == [was_sales["id"]]
    assert (run["event"]["type"], run["status"]) == ("contact.updated", "completed")
