"""Mass activities against the emulator: pages, chunks, crashes, firings and schedules never make a
second activity or run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from infra.emulator import Emulator
from infra.template import Stack
from services.activities import mass
from services.activities.domain.mass import MassActivity, MassRun
from services.activities.handlers import api, jobs
from services.activities.handlers import consumer as consumer_handler
from services.activities.service import service_caller
from services.activities.store import ActivitiesStore
from shared.contracts.audience import AudienceMember, AudiencePage
from shared.events import Actor, new_event
from shared.ids import new_id
from shared.scheduler import scheduler_client
from shared.service import model_of
from shared.store import UnitOfWork
from tests.integration.conftest import bus_delivery, http_event, new_tenant, sqs_event

ACTIVITY = {"type": "call", "subject": "Campaign call", "start_time": "09:00"}


def _scan(aws: Emulator, stack: Stack, **values: str) -> list[dict[str, Any]]:
    """Items of the activities table with these attribute values (tests only: a Scan)."""
    names = {f"#{k}": k for k in values}
    condition = " AND ".join(f"#{k} = :{k}" for k in values)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": stack.tables["ActivitiesTable"].name,
        "FilterExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {f":{k}": {"S": v} for k, v in values.items()},
    }
    while True:
        page = aws.client("dynamodb").scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _events(aws: Emulator, stack: Stack, tenant: str, event_type: str) -> list[dict[str, Any]]:
    envelopes = [json.loads(i["envelope"]["S"]) for i in _scan(aws, stack, kind="outbox", event_type=event_type)]
    return [e for e in envelopes if e["tenant_id"] == tenant]


def _mass_activity(tenant: str) -> Any:
    now = datetime.now(UTC)
    return MassActivity.model_validate(
        {
            "id": new_id(),
            "name": "Campaign",
            "target_group_id": "TG1",
            "activity": ACTIVITY,
            "owner": {"mode": "member_owner"},
            "schedule": {"mode": "now", "time_zone": "Europe/Helsinki"},
            "kind": "event",
            "created_by": "admin-1",
            "created_at": now,
            "updated_at": now,
        }
    )


def _started_run(tenant: str) -> str:
    """A run's record, as a firing writes it; returns the run (audience request) id."""
    run = mass.new_run(tenant, _mass_activity(tenant), datetime.now(UTC))
    uow = UnitOfWork()
    uow.save(run)
    uow.commit()
    return run.record_id


def _page(tenant: str, request_id: str, members: list[dict[str, Any]], number: int = 1, last: bool = True) -> Any:
    page = AudiencePage(
        request_id=request_id,
        requester="activities",
        target_group_id="TG1",
        page=number,
        last=last,
        total_members=len(members) if last else None,
        members=members,
    )
    return new_event("audience.page", tenant, page, actor=Actor(type="service", id="directory"))


def _members(count: int, accounts: int = 7) -> list[dict[str, Any]]:
    account_ids = [new_id() for _ in range(accounts)]
    return [
        {"contact_id": new_id(), "account_id": account_ids[n % accounts], "owner_id": f"seller-{n % 3}"}
        for n in range(count)
    ]


def _progress(tenant: str, request_id: str) -> Any:
    record = ActivitiesStore().get(tenant, mass.RUN, request_id)
    assert record is not None
    return mass.run_progress(service_caller(tenant), MassRun.model_validate({"id": request_id, **record.data}))


@pytest.fixture
def consumer(lambda_env: Any, stack: Stack) -> Any:
    context = lambda_env("ActivitiesConsumerFunction")
    queue = stack.queues["ActivitiesEventsQueue"].arn

    def deliver(envelope: Any) -> dict[str, Any]:
        return dict(
            consumer_handler.handler(sqs_event([bus_delivery(envelope.model_dump(mode="json"))], queue), context)
        )

    return deliver


def test_a_page_redelivered_or_copied_makes_each_activity_once(consumer: Any, aws: Emulator, stack: Stack) -> None:
    tenant = new_tenant()
    request_id = _started_run(tenant)
    members = _members(230)
    envelope = _page(tenant, request_id, members)
    assert consumer(envelope) == {"batchItemFailures": []}
    assert consumer(envelope) == {"batchItemFailures": []}  # the same event again
    copy = envelope.model_copy(update={"id": new_id()})  # the same page under a new event id
    assert consumer(copy) == {"batchItemFailures": []}

    created = _events(aws, stack, tenant, "activity.created")
    assert len(created) == 230
    contacts = [e["data"]["activity"]["contact_id"] for e in created]
    assert sorted(contacts) == sorted(m["contact_id"] for m in members)
    by_contact = {m["contact_id"]: m for m in members}
    for event in created:
        activity = event["data"]["activity"]
        member = by_contact[activity["contact_id"]]
        assert (activity["owner_id"], activity["account_id"]) == (member["owner_id"], member["account_id"])
        assert activity["source"] == "mass_activity"
    progress = _progress(tenant, request_id)
    assert (progress.activities, progress.pages_seen, progress.done) == (230, 1, True)


def test_a_chunk_that_meets_existing_activities_is_made_one_by_one(
    lambda_env: Any, aws: Emulator, stack: Stack
) -> None:
    lambda_env("ActivitiesConsumerFunction")
    tenant = new_tenant()
    request_id = _started_run(tenant)
    caller = service_caller(tenant)
    run = ActivitiesStore().get(tenant, mass.RUN, request_id)
    assert run is not None
    members = [AudienceMember.model_validate(m) for m in _members(60)]
    built = mass.build_for_members(caller, run.data, request_id, members)
    assert mass.commit_new(caller, built[10:20]) == 10  # another delivery made these meanwhile
    again = mass.build_for_members(caller, run.data, request_id, members)
    assert mass.commit_new(caller, again) == 60  # chunks cancelled by those ten, then one by one
    assert len(_events(aws, stack, tenant, "activity.created")) == 60


def test_a_crash_between_chunks_is_finished_by_the_redelivery(
    consumer: Any, aws: Emulator, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = new_tenant()
    request_id = _started_run(tenant)
    envelope = _page(tenant, request_id, _members(120))
    flush, flushes = mass._flush, []

    def crash_on_third_chunk(*args: Any) -> int:
        flushes.append(1)
        if len(flushes) == 3:
            raise ConnectionError("crashed midway through the page")
        return flush(*args)

    monkeypatch.setattr(mass, "_flush", crash_on_third_chunk)
    with pytest.raises(BatchProcessingError):
        consumer(envelope)
    made = len(_events(aws, stack, tenant, "activity.created"))
    assert 0 < made < 120
    assert _progress(tenant, request_id).pages_seen == 0  # the page counts only once it is all made

    monkeypatch.setattr(mass, "_flush", flush)
    assert consumer(envelope) == {"batchItemFailures": []}
    assert len(_events(aws, stack, tenant, "activity.created")) == 120
    assert _progress(tenant, request_id).activities == 120


def test_a_firing_retried_asks_for_the_audience_once_and_a_passive_one_not_at_all(
    lambda_env: Any, aws: Emulator, stack: Stack
) -> None:
    tenant = new_tenant()
    context = lambda_env("ActivitiesApiFunction")
    scheduler_client.cache_clear()  # its client knows an earlier module's emulator
    at = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    body = {"target_group_id": "TG1", "activity": ACTIVITY, "schedule": {"mode": "at", "at": at.isoformat()}}
    response = api.handler(http_event("POST", "/mass-activities", tenant, body), context)
    assert response["statusCode"] == 201, response["body"]
    created = json.loads(response["body"])
    scheduler = aws.client("scheduler")
    group = stack.schedule_groups["ScheduleGroup"]
    assert scheduler.get_schedule(Name=created["schedule_name"], GroupName=group)["State"] == "ENABLED"

    record = ActivitiesStore().get(tenant, mass.KIND, created["id"])
    assert record is not None
    mass.sync_schedule(service_caller(tenant), model_of(record, MassActivity))  # a retry finds it, updates it

    job_context = lambda_env("ActivitiesJobsFunction")
    queue = stack.queues["ActivitiesJobsQueue"].arn
    firing = {
        "job": "mass.run",
        "tenant_id": tenant,
        "mass_activity_id": created["id"],
        "scheduled_time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    for _ in range(2):
        assert jobs.handler(sqs_event([firing], queue), job_context) == {"batchItemFailures": []}
    requested = _events(aws, stack, tenant, "audience.requested")
    assert len(requested) == 1
    assert requested[0]["data"]["request_id"] == mass.run_id(created["id"], at)

    context = lambda_env("ActivitiesApiFunction")
    passive = {"active": False}
    response = api.handler(http_event("PATCH", f"/mass-activities/{created['id']}", tenant, passive), context)
    assert response["statusCode"] == 200, response["body"]
    assert scheduler.get_schedule(Name=created["schedule_name"], GroupName=group)["State"] == "DISABLED"
    later = {**firing, "scheduled_time": (at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert jobs.handler(sqs_event([later], queue), lambda_env("ActivitiesJobsFunction")) == {"batchItemFailures": []}
    assert len(_events(aws, stack, tenant, "audience.requested")) == 1

    scheduler.delete_schedule(Name=created["schedule_name"], GroupName=group)  # gone already: the delete still succeeds
    context = lambda_env("ActivitiesApiFunction")
    response = api.handler(http_event("DELETE", f"/mass-activities/{created['id']}", tenant), context)
    assert response["statusCode"] == 204, response["body"]
