"""Mass activities through the gateway: a target group's members each get one activity, now, at a
set time or recurring (EventBridge Scheduler schedules that the runtime fires), never twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from infra.runtime import LocalRuntime
from shared.ids import new_id
from tests.e2e.helpers import (
    assert_problem,
    created,
    envelopes,
    new_tenant,
    ok,
    put_envelope,
    scheduler_schedule,
    settle,
    walk,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

CALL = {"type": "call", "subject": "Spring campaign call", "start_time": "09:00", "duration_minutes": 30}
TASK = {"type": "task", "subject": "Send the brochure", "due_time": "16:00"}
HELSINKI = "Europe/Helsinki"


@pytest.fixture(scope="module")
def world(session_api: Api) -> dict[str, Any]:
    """A tenant with three contacts (two sellers own two, the admin the third) in one target group."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    oulu = created(admin.post("/accounts", json={"name": "Oulu Oy", "city": "Oulu"}))["id"]
    sellers = [
        created(admin.post("/users", json={"email": f"seller{n}@example.fi", "name": f"Seller {n}"}))["id"]
        for n in (1, 2)
    ]

    def contact(**fields: Any) -> str:
        return str(created(admin.post("/contacts", json=fields))["id"])

    contacts = {
        "anna": contact(first_name="Anna", account_id=oulu, owner={"type": "user", "id": sellers[0]}),
        "bert": contact(first_name="Bert", owner={"type": "user", "id": sellers[1]}),
        "cara": contact(first_name="Cara", account_id=oulu),  # owned by whoever created her
    }
    group = created(admin.post("/target-groups", json={"name": "Spring", "contact_ids": list(contacts.values())}))
    return {
        "tenant": tenant,
        "admin": admin,
        "oulu": oulu,
        "sellers": sellers,
        "contacts": contacts,
        "group": group["id"],
    }


def _mass(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"target_group_id": world["group"], "activity": CALL, **fields}
    return created(world["admin"].post("/mass-activities", json=body))


def _runs(api: Api, mass_id: str) -> list[dict[str, Any]]:
    return list(ok(api.get(f"/mass-activities/{mass_id}/runs"))["items"])


def _done_runs(stack: LocalRuntime, api: Api, mass_id: str, count: int) -> list[dict[str, Any]]:
    runs = settle(stack, lambda: r if len(r := _runs(api, mass_id)) >= count and all(x["done"] for x in r) else None)
    assert runs and len(runs) == count, _runs(api, mass_id)
    return list(runs)


def _made_by(api: Api, contact_id: str, mass_id: str) -> list[dict[str, Any]]:
    """The contact's activities that a mass activity made."""
    items = walk(api, "/activities", limit=50, contact_id=contact_id)
    return [a for a in items if a["source"] == "mass_activity" and a["source_id"] == mass_id]


def _send_job(stack: LocalRuntime, body: str) -> None:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="kontakt-dev-activities-jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=body)


def test_now_makes_one_activity_per_member_for_its_responsible_user(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin, contacts = world["admin"], world["contacts"]
    mass = _mass(world, schedule={"mode": "now", "time_zone": HELSINKI})
    assert mass["schedule_name"] is None and mass["kind"] == "event"
    [run] = _done_runs(stack, admin, mass["id"], 1)
    assert (run["activities"], run["total_members"], run["pages_seen"], run["error"]) == (3, 3, 1, None)

    owners = {"anna": world["sellers"][0], "bert": world["sellers"][1], "cara": "admin-1"}
    accounts = {"anna": world["oulu"], "bert": None, "cara": world["oulu"]}
    today = datetime.fromisoformat(run["run_at"]).astimezone(ZoneInfo(HELSINKI)).date()
    for name, contact_id in contacts.items():
        [activity] = _made_by(admin, contact_id, mass["id"])
        assert activity["owner_id"] == owners[name]
        assert activity["account_id"] == accounts[name]
        assert activity["subject"] == "Spring campaign call" and activity["kind"] == "event"
        start = datetime.fromisoformat(activity["start"]).astimezone(ZoneInfo(HELSINKI))
        assert (start.date(), start.hour, start.minute) == (today, 9, 0)
        assert (datetime.fromisoformat(activity["end"]) - datetime.fromisoformat(activity["start"])).seconds == 1800

    # The audience page delivered again, and a copy under a new envelope id: nothing new.
    [page] = [e for e in envelopes(stack, world["tenant"], "audience.page") if e["data"]["request_id"] == run["id"]]
    put_envelope(stack, page)
    put_envelope(stack, {**page, "id": new_id()})
    stack.drain()
    stack.drain()
    for contact_id in contacts.values():
        assert len(_made_by(admin, contact_id, mass["id"])) == 1
    assert _runs(admin, mass["id"]) == [run]
    made = [
        e
        for e in envelopes(stack, world["tenant"], "activity.created")
        if e["data"]["activity"]["source_id"] == mass["id"]
    ]
    assert len(made) == 3
    requested = [
        e for e in envelopes(stack, world["tenant"], "audience.requested") if e["data"]["request_id"] == run["id"]
    ]
    assert [r["data"]["requester"] for r in requested] == ["activities"]


def test_a_named_user_gets_every_activity_and_a_retried_create_runs_once(
    stack: LocalRuntime, world: dict[str, Any]
) -> None:
    admin = world["admin"]
    body = {
        "target_group_id": world["group"],
        "activity": {**TASK, "day": "2030-02-01"},
        "owner": {"mode": "user", "user_id": "caller-9"},
    }
    headers = {"Idempotency-Key": "spring-" + new_id()}
    mass = created(admin.post("/mass-activities", json=body, headers=headers))
    again = created(admin.post("/mass-activities", json=body, headers=headers))
    assert again["id"] == mass["id"]
    other = admin.post("/mass-activities", json={**body, "name": "Other"}, headers=headers)
    assert_problem(other, 422, "header.idempotency-key")

    [run] = _done_runs(stack, admin, mass["id"], 1)
    assert run["activities"] == 3
    for contact_id in world["contacts"].values():
        [task] = _made_by(admin, contact_id, mass["id"])
        assert (task["owner_id"], task["kind"], task["due"]) == ("caller-9", "task", "2030-02-01T16:00:00Z")


def test_at_a_set_time_the_schedule_fires_then_is_gone(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin = world["admin"]
    mass = _mass(
        world,
        activity=TASK,
        schedule={"mode": "at", "at": "2031-01-05T09:00:00+02:00", "time_zone": HELSINKI},
    )
    name = mass["schedule_name"]
    assert name == f"mass-{mass['id']}"  # in the stage's schedule group
    names = [s["Name"] for s in stack.client("scheduler").list_schedules()["Schedules"]]
    assert name in names
    schedule = scheduler_schedule(stack, name)
    assert schedule is not None
    assert schedule["ScheduleExpression"] == "at(2031-01-05T09:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == HELSINKI
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"].endswith(":kontakt-dev-activities-jobs")
    assert json.loads(schedule["Target"]["Input"]) == {
        "job": "mass.run",
        "tenant_id": world["tenant"],
        "mass_activity_id": mass["id"],
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }

    assert name not in stack.fire_schedules(datetime(2031, 1, 5, 6, 59, tzinfo=UTC))  # 08:59 in Helsinki
    stack.drain()
    assert _runs(admin, mass["id"]) == []
    assert name in stack.fire_schedules(datetime(2031, 1, 5, 7, 0, tzinfo=UTC))
    [run] = _done_runs(stack, admin, mass["id"], 1)
    assert run["run_at"] == "2031-01-05T07:00:00Z" and run["activities"] == 3
    [task] = _made_by(admin, world["contacts"]["anna"], mass["id"])
    assert task["due"] == "2031-01-05T14:00:00Z"  # 16:00 in Helsinki on the run's day
    assert scheduler_schedule(stack, name) is None  # an at() schedule deletes itself after firing

    assert admin.delete(f"/mass-activities/{mass['id']}").status_code == 204
    assert admin.get(f"/mass-activities/{mass['id']}").status_code == 404


def test_recurring_daily_runs_each_day_once(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin, anna = world["admin"], world["contacts"]["anna"]
    mass = _mass(
        world,
        schedule={
            "mode": "recurring",
            "frequency": "daily",
            "start": "2032-03-01T08:00:00+02:00",
            "end": "2032-03-31T00:00:00+02:00",
            "time_zone": HELSINKI,
        },
    )
    schedule = scheduler_schedule(stack, mass["schedule_name"])
    assert schedule is not None and schedule["ScheduleExpression"] == "cron(0 8 * * ? *)"
    assert schedule["State"] == "ENABLED"

    assert mass["schedule_name"] in stack.fire_schedules(datetime(2032, 3, 1, 6, 0, tzinfo=UTC))
    _done_runs(stack, admin, mass["id"], 1)
    assert mass["schedule_name"] in stack.fire_schedules(datetime(2032, 3, 2, 6, 0, tzinfo=UTC))
    runs = _done_runs(stack, admin, mass["id"], 2)
    assert [r["run_at"] for r in runs] == ["2032-03-02T06:00:00Z", "2032-03-01T06:00:00Z"]  # newest first
    assert all(r["activities"] == 3 for r in runs)
    starts = sorted(a["start"] for a in _made_by(admin, anna, mass["id"]))
    assert starts == ["2032-03-01T07:00:00Z", "2032-03-02T07:00:00Z"]

    # The same firing again (the scheduler retries): no new run, no new activities.
    job = {"job": "mass.run", "tenant_id": world["tenant"], "mass_activity_id": mass["id"]}
    _send_job(stack, json.dumps({**job, "scheduled_time": "2032-03-02T06:00:00Z"}))
    stack.drain()
    assert len(_runs(admin, mass["id"])) == 2
    assert len(_made_by(admin, anna, mass["id"])) == 2

    # A firing after the end makes nothing.
    _send_job(stack, json.dumps({**job, "scheduled_time": "2032-04-01T06:00:00Z"}))
    stack.drain()
    assert len(_runs(admin, mass["id"])) == 2

    assert admin.delete(f"/mass-activities/{mass['id']}").status_code == 204
    assert scheduler_schedule(stack, mass["schedule_name"]) is None
    assert admin.delete(f"/mass-activities/{mass['id']}").status_code == 404


def test_a_passive_mass_activity_does_not_run(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin = world["admin"]
    mass = _mass(
        world,
        schedule={"mode": "recurring", "frequency": "weekly", "start": "2033-05-02T10:00:00Z", "time_zone": "UTC"},
    )
    passive = admin.patch(f"/mass-activities/{mass['id']}", json={"active": False})
    assert passive.status_code == 200, passive.text
    assert passive.json()["active"] is False and passive.json()["version"] == mass["version"] + 1
    schedule = scheduler_schedule(stack, mass["schedule_name"])
    assert schedule is not None
    assert (schedule["State"], schedule["ScheduleExpression"]) == ("DISABLED", "cron(0 10 ? * MON *)")

    assert mass["schedule_name"] not in stack.fire_schedules(datetime(2033, 5, 2, 10, 0, tzinfo=UTC))
    job = {"job": "mass.run", "tenant_id": world["tenant"], "mass_activity_id": mass["id"]}
    _send_job(stack, json.dumps({**job, "scheduled_time": "2033-05-02T10:00:00Z"}))  # fired anyway
    stack.drain()
    assert _runs(admin, mass["id"]) == []
    assert _made_by(admin, world["contacts"]["anna"], mass["id"]) == []

    active = admin.patch(f"/mass-activities/{mass['id']}", json={"active": True}).json()
    assert active["active"] is True
    assert scheduler_schedule(stack, mass["schedule_name"])["State"] == "ENABLED"  # type: ignore[index]
    assert admin.delete(f"/mass-activities/{mass['id']}").status_code == 204
    assert scheduler_schedule(stack, mass["schedule_name"]) is None


def test_an_unknown_group_ends_the_run_with_its_error(stack: LocalRuntime, world: dict[str, Any]) -> None:
    mass = _mass(world, target_group_id="nosuchgroup")
    [run] = _done_runs(stack, world["admin"], mass["id"], 1)
    assert run["activities"] == 0 and "nosuchgroup" in run["error"]


def test_bad_input_and_who_may_do_what(api: Api, world: dict[str, Any]) -> None:
    admin, tenant = world["admin"], world["tenant"]
    user = api.as_(tenant, "user-1", "user")

    def post(client: Api, **fields: Any) -> Any:
        return client.post("/mass-activities", json={"target_group_id": world["group"], "activity": CALL, **fields})

    before = len(walk(admin, "/mass-activities", limit=200))
    assert_problem(post(admin, activity={**CALL, "type": "nope"}), 422, "activity.type")
    assert_problem(post(admin, activity={**CALL, "start_time": None}), 422, "activity.start_time")
    assert_problem(post(admin, activity={**CALL, "category": "nope"}), 422, "activity.category")
    assert_problem(post(admin, owner={"mode": "user"}), 422, "owner.user_id")
    assert_problem(post(admin, schedule={"mode": "at", "at": "2020-01-01T00:00:00Z"}), 422, "schedule.at")
    assert_problem(post(admin, schedule={"mode": "recurring", "frequency": "daily"}), 422, "schedule.start")
    assert_problem(post(admin, schedule={"mode": "now", "time_zone": "Nowhere/City"}), 422, "schedule.time_zone")
    assert_problem(post(admin, schedule={"mode": "hourly"}), 422, "schedule.mode")
    assert len(walk(admin, "/mass-activities", limit=200)) == before  # nothing was made

    # Scheduling is for managers and admins; a user may run one now for themselves only.
    at = {"mode": "at", "at": "2034-01-01T09:00:00Z"}
    assert_problem(post(user, schedule=at, owner={"mode": "user", "user_id": "user-1"}), 403)
    assert_problem(post(user), 422, "owner.mode")
    assert_problem(post(user, owner={"mode": "user", "user_id": world["sellers"][0]}), 422, "owner.user_id")
    own = created(post(user, owner={"mode": "user", "user_id": "user-1"}, target_group_id="nosuchgroup"))
    manager = api.as_(tenant, "manager-1", "manager")
    scheduled = created(post(manager, schedule=at))
    assert_problem(user.patch(f"/mass-activities/{scheduled['id']}", json={"active": False}), 403)
    assert_problem(user.delete(f"/mass-activities/{scheduled['id']}"), 403)
    assert_problem(admin.patch(f"/mass-activities/{scheduled['id']}", json={"active": None}), 422, "active")
    assert user.get(f"/mass-activities/{scheduled['id']}").status_code == 200  # everyone may look

    # Tenants never see each other's mass activities.
    stranger = api.as_(new_tenant(), "admin-1", "admin")
    assert stranger.get(f"/mass-activities/{scheduled['id']}").status_code == 404
    assert stranger.get(f"/mass-activities/{scheduled['id']}/runs").status_code == 404
    assert stranger.delete(f"/mass-activities/{scheduled['id']}").status_code == 404
    assert stranger.get("/mass-activities").json()["items"] == []

    listed = {m["id"] for m in walk(admin, "/mass-activities", limit=2)}
    assert {own["id"], scheduled["id"]} <= listed
    assert user.delete(f"/mass-activities/{own['id']}").status_code == 204
    assert manager.delete(f"/mass-activities/{scheduled['id']}").status_code == 204


def test_a_scheduled_run_asks_for_the_audience_as_its_creator(stack: LocalRuntime, world: dict[str, Any]) -> None:
    """When the schedule fires, the audience is resolved as the manager who made the mass activity
    (their role and groups: the contacts they see), not with the scheduler's full reach."""
    manager = world["admin"].as_(world["tenant"], "manager-9", "manager", ["north"])
    body = {"target_group_id": world["group"], "activity": TASK}
    schedule = {"mode": "at", "at": "2034-06-01T11:00:00+03:00", "time_zone": HELSINKI}
    mass = created(manager.post("/mass-activities", json={**body, "schedule": schedule}))
    assert "creator" not in mass
    assert mass["schedule_name"] in stack.fire_schedules(datetime(2034, 6, 1, 8, 0, tzinfo=UTC))
    [run] = _done_runs(stack, manager, mass["id"], 1)
    assert run["activities"] == 3
    [request] = [
        e for e in envelopes(stack, world["tenant"], "audience.requested") if e["data"]["request_id"] == run["id"]
    ]
    assert request["data"]["acting"] == {"user_id": "manager-9", "role": "manager", "groups": ["north"]}
    assert request["actor"] == {"type": "user", "id": "manager-9"}
