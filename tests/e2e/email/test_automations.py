"""Automatic emails [issue 5 item 4 (a)] through the gateway: an automation's schedule fires (the
runtime fires EventBridge Scheduler schedules), each firing makes an automatic campaign of the
target group's matching contacts and mails them through SES (moto records the mails): once per
contact ever, or once per firing with `repeats`; a firing delivered twice sends nothing twice."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.runtime import LocalRuntime
from shared.ids import derived_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import sent_mails
from tests.e2e.helpers import assert_problem, created, drain, new_tenant, ok, scheduler_schedule, walk

TEMPLATE = {
    "name": "Welcome",
    "subject": "Welcome {{ contact.first_name }}",
    "html": "<p>Hi {{ contact.first_name }}</p>",
    "text": "Hi {{ contact.first_name }}",
}
SALES = [{"field": "department", "op": "equals", "value": "Sales"}]
DAILY = {"mode": "rate", "expression": "rate(1 day)"}


def _drain(stack: LocalRuntime) -> None:
    """Drain with room for a busy machine (other test runs share its two cores); what the tests
    check is polled for anyway."""
    drain(stack, timeout=80, busy_ok=True)


def _world(api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """A tenant with contacts anna and bert in Sales, cara in Support, a group of Sales, a template."""
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")

    def contact(name: str, department: str) -> str:
        body = {"first_name": name.title(), "email": f"{name}@example.com", "department": department}
        return str(created(admin.post("/contacts", json=body))["id"])

    contacts = {"anna": contact("anna", "Sales"), "bert": contact("bert", "Sales"), "cara": contact("cara", "Support")}
    group = created(admin.post("/target-groups", json={"name": "Sales people", "conditions": SALES}))
    template = created(admin.post("/email/templates", json=TEMPLATE))
    _drain(stack)  # the recipients projection hears of the contacts
    return {"tenant": tenant, "admin": admin, "contacts": contacts, "group": group["id"], "template": template["id"]}


def _automation(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Welcome series",
        "template_id": world["template"],
        "list_type_id": "marketing",
        "target_group_id": world["group"],
        "schedule": DAILY,
        **fields,
    }
    return created(world["admin"].post("/email/automations", json=body))


def _mails(stack: LocalRuntime) -> dict[str, int]:
    """How many mails moto's SES recorded, by our message id."""
    return {message_id: len(mails) for message_id, mails in sent_mails(stack).items()}


def _fire(stack: LocalRuntime, automation: dict[str, Any], days: int) -> None:
    """Fire the schedules due `days` days (and a minute) from now; the automation's is among them."""
    assert automation["schedule_name"] in stack.fire_schedules(datetime.now(UTC) + timedelta(days=days, minutes=1))


def _runs(world: dict[str, Any], automation_id: str) -> list[dict[str, Any]]:
    return walk(world["admin"], f"/email/automations/{automation_id}/runs", limit=10)


def _sent(stack: LocalRuntime, world: dict[str, Any], automation_id: str, runs: int) -> list[dict[str, Any]]:
    """The automation's runs once there are `runs` of them and each campaign's mails are sent."""
    for _ in range(20):
        _drain(stack)
        found = _runs(world, automation_id)
        if len(found) == runs and all(x["status"] == "sent" for x in found):
            return found
    raise AssertionError(found)


def _mailed(stack: LocalRuntime, scope: str, contacts: dict[str, str]) -> dict[str, int]:
    """How many mails each contact got with the message id of `scope`."""
    counts = _mails(stack)
    return {name: counts.get(derived_id(scope, contact_id), 0) for name, contact_id in contacts.items()}


def _send_jobs(stack: LocalRuntime, *jobs: dict[str, Any]) -> None:
    """Put jobs on the email jobs queue as a schedule does, and wait until they have run."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="kontakt-dev-email-jobs")["QueueUrl"]
    for job in jobs:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job))
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + 120
    while any(int(v) for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values()):
        assert time.monotonic() < deadline, "the jobs did not run"
        time.sleep(0.1)
    _drain(stack)


def test_automations_are_checked_kept_per_tenant_and_own_theirscheduler_schedule(api: Api, stack: LocalRuntime) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    template = created(admin.post("/email/templates", json=TEMPLATE))
    world = {"tenant": tenant, "admin": admin, "group": "G1", "template": template["id"]}
    body = {"name": "x", "template_id": world["template"], "list_type_id": "marketing", "target_group_id": "G1"}
    assert_problem(admin.post("/email/automations", json=body), 422, "schedule")
    bad_rate = {**body, "schedule": {"mode": "rate", "expression": "rate(2 day)"}}
    assert_problem(admin.post("/email/automations", json=bad_rate), 422, "schedule.expression")
    bad_cron = {**body, "schedule": {"mode": "cron", "expression": "cron(0 9 * * * *)"}}
    assert_problem(admin.post("/email/automations", json=bad_cron), 422, "schedule.expression")
    assert_problem(
        admin.post("/email/automations", json={**body, "schedule": {"mode": "weekly"}}), 422, "schedule.start"
    )
    assert_problem(
        admin.post("/email/automations", json={**body, "schedule": DAILY, "template_id": "nope"}), 422, "template_id"
    )
    assert_problem(
        admin.post("/email/automations", json={**body, "schedule": DAILY, "list_type_id": "nope"}), 422, "list_type_id"
    )
    user = api.as_(world["tenant"], "seller-1", "user")
    assert_problem(user.post("/email/automations", json={**body, "schedule": DAILY}), 403)
    assert walk(admin, "/email/automations") == []  # nothing was made

    weekly = {"mode": "weekly", "start": "2031-01-07T07:30:00Z", "time_zone": "Europe/Helsinki"}
    automation = _automation(world, schedule=weekly, tracking={"opens": False, "clicks": True})
    assert (automation["repeats"], automation["active"], automation["tracking"]["opens"]) == (False, True, False)
    schedule = scheduler_schedule(stack, automation["schedule_name"])
    assert schedule is not None
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == (
        "cron(30 9 ? * TUE *)",
        "Europe/Helsinki",
    )
    job = json.loads(schedule["Target"]["Input"])
    assert job == {
        "job": "automation.run",
        "tenant_id": world["tenant"],
        "automation_id": automation["id"],
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    assert schedule["Target"]["Arn"].endswith(":kontakt-dev-email-jobs")
    assert [a["id"] for a in walk(user, "/email/automations")] == [automation["id"]]  # users read them

    stranger = api.as_(new_tenant(), "admin-1", "admin")
    path = f"/email/automations/{automation['id']}"
    assert stranger.get(path).status_code == 404
    assert stranger.patch(path, json={"active": False}).status_code == 404
    assert stranger.delete(path).status_code == 404
    assert stranger.get(f"{path}/runs").status_code == 404

    assert_problem(
        admin.patch(path, json={"schedule": {"mode": "rate", "expression": "daily"}}), 422, "schedule.expression"
    )
    assert_problem(admin.patch(path, json={"active": None}), 422, "active")
    assert_problem(admin.patch(path, json={"template_id": "nope"}), 422, "template_id")
    assert ok(admin.get(path))["schedule"]["mode"] == "weekly"  # nothing changed

    read = {"If-Match": f'"{automation["version"]}"'}
    changed = ok(admin.patch(path, json={"schedule": DAILY, "name": "Daily"}, headers=read))
    assert (changed["name"], changed["version"]) == ("Daily", automation["version"] + 1)
    assert scheduler_schedule(stack, automation["schedule_name"])["ScheduleExpression"] == "rate(1 day)"  # type: ignore[index]
    assert_problem(admin.patch(path, json={"name": "Late"}, headers=read), 412)

    assert ok(admin.patch(path, json={"active": False}))["active"] is False
    assert scheduler_schedule(stack, automation["schedule_name"]) is None  # deactivated: the schedule is gone
    assert ok(admin.patch(path, json={"active": True}))["active"] is True
    assert scheduler_schedule(stack, automation["schedule_name"]) is not None
    assert admin.delete(path).status_code == 204
    assert scheduler_schedule(stack, automation["schedule_name"]) is None
    assert admin.get(path).status_code == 404


def test_each_contact_is_mailed_once_ever_and_a_new_match_at_the_next_firing(api: Api, stack: LocalRuntime) -> None:
    world = _world(api, stack)
    admin, contacts = world["admin"], world["contacts"]
    automation = _automation(world)

    _fire(stack, automation, days=1)
    [first] = _sent(stack, world, automation["id"], 1)
    assert _mailed(stack, automation["id"], contacts) == {"anna": 1, "bert": 1, "cara": 0}
    campaign = ok(admin.get(f"/campaigns/{first['campaign_id']}"))
    assert campaign["origin"] == {"automation_id": automation["id"], "scheduled_time": first["scheduled_time"]}
    assert campaign["target_group_id"] == world["group"] and campaign["once_scope"] == automation["id"]
    assert first["counts"]["sent"] == 2

    # The same firing delivered again: the same campaign, nobody mailed twice.
    fired_at = datetime.fromisoformat(first["scheduled_time"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = {"job": "automation.run", "tenant_id": world["tenant"], "automation_id": automation["id"]}
    _send_jobs(stack, {**job, "scheduled_time": fired_at}, {**job, "scheduled_time": fired_at})
    assert len(_runs(world, automation["id"])) == 1

    # Cara moves to Sales: the next firing mails only her.
    ok(admin.patch(f"/contacts/{contacts['cara']}", json={"department": "Sales"}))
    _drain(stack)
    _fire(stack, automation, days=2)
    runs = _sent(stack, world, automation["id"], 2)
    assert runs[1]["id"] == first["id"]  # newest first
    assert _mailed(stack, automation["id"], contacts) == {"anna": 1, "bert": 1, "cara": 1}
    assert runs[0]["counts"]["sent"] == 1
    assert campaign["id"] in {c["id"] for c in walk(admin, "/campaigns", limit=50)}

    assert ok(admin.patch(f"/email/automations/{automation['id']}", json={"active": False}))["active"] is False
    assert scheduler_schedule(stack, automation["schedule_name"]) is None
    _send_jobs(stack, {**job, "scheduled_time": "2099-01-01T00:00:00Z"})  # a firing already on its way
    assert len(_runs(world, automation["id"])) == 2  # an inactive automation sends nothing


def test_a_repeating_automation_mails_every_match_at_every_firing(api: Api, stack: LocalRuntime) -> None:
    world = _world(api, stack)
    automation = _automation(world, repeats=True)
    _fire(stack, automation, days=1)
    _fire(stack, automation, days=2)
    runs = _sent(stack, world, automation["id"], 2)
    assert runs[0]["scheduled_time"] > runs[1]["scheduled_time"]
    for run in runs:
        assert _mailed(stack, run["campaign_id"], world["contacts"]) == {"anna": 1, "bert": 1, "cara": 0}
    assert _mailed(stack, automation["id"], world["contacts"]) == {"anna": 0, "bert": 0, "cara": 0}

    # A firing delivered again (here each mail's id is the firing's): still one campaign, one mail each.
    fired_at = datetime.fromisoformat(runs[0]["scheduled_time"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = {"job": "automation.run", "tenant_id": world["tenant"], "automation_id": automation["id"]}
    _send_jobs(stack, {**job, "scheduled_time": fired_at}, {**job, "scheduled_time": fired_at.replace("Z", "+00:00")})
    assert [r["id"] for r in _sent(stack, world, automation["id"], 2)] == [r["id"] for r in runs]
    assert _mailed(stack, runs[0]["campaign_id"], world["contacts"]) == {"anna": 1, "bert": 1, "cara": 0}
    made = [c for c in walk(world["admin"], "/campaigns", limit=50) if c.get("origin")]
    assert sorted(c["id"] for c in made) == sorted(r["campaign_id"] for r in runs)

    # Its template deleted: the next firing records why it made no campaign (and is not retried).
    assert world["admin"].delete(f"/email/templates/{world['template']}").status_code == 204
    _fire(stack, automation, days=3)
    _drain(stack)
    latest = _runs(world, automation["id"])[0]
    assert latest["scheduled_time"] > runs[0]["scheduled_time"] and latest["status"] is None
    assert "template_id" in latest["error"]
    assert world["admin"].delete(f"/email/automations/{automation['id']}").status_code == 204
