"""Writes and their events commit together; the publisher loses nothing and fails loudly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.emulator import Emulator
from infra.template import Stack
from services.directory.handlers import api
from shared import outbox
from shared.events import SYSTEM, Envelope
from shared.ids import new_id
from shared.store import UnitOfWork
from tests.integration.conftest import http_event, new_tenant


def _stream_records(aws: Emulator, stack: Stack, tenant: str) -> list[dict[str, Any]]:
    """The outbox inserts of one tenant on the directory table's stream, as Lambda receives them."""
    streams = aws.client("dynamodbstreams")
    arn = stack.tables["DirectoryTable"].stream_arn
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    position, records = iterator["ShardIterator"], []
    while position:
        response = streams.get_records(ShardIterator=position, Limit=1000)
        if not response["Records"]:
            break
        records += response["Records"]
        position = response.get("NextShardIterator")
    mine = []
    for record in records:
        image = record["dynamodb"].get("NewImage", {})
        is_outbox = record["eventName"] == "INSERT" and image.get("kind", {}).get("S") == "outbox"
        if is_outbox and json.loads(image["envelope"]["S"])["tenant_id"] == tenant:
            record["dynamodb"].pop("ApproximateCreationDateTime", None)
            record["eventSourceARN"] = arn
            mine.append(record)
    return mine


class FakeEvents:
    """An EventBridge client that fails the way we tell it to."""

    def __init__(self, fail_entries: int = 0, crash: bool = False) -> None:
        self.fail_entries, self.crash, self.calls = fail_entries, crash, []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.crash:
            raise ConnectionError("the network went away")
        return {"FailedEntryCount": self.fail_entries, "Entries": []}


def _create_accounts(lambda_env: Any, tenant: str, count: int) -> list[str]:
    context = lambda_env("DirectoryApiFunction")
    ids = []
    for n in range(count):
        response = api.handler(http_event("POST", "/accounts", tenant, {"name": f"Account {n}"}), context)
        assert response["statusCode"] == 201, response["body"]
        ids.append(json.loads(response["body"])["id"])
    return ids


def test_a_write_and_its_event_are_one_transaction(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = directory_tenant()
    context = lambda_env("DirectoryApiFunction")

    def crash(self: UnitOfWork) -> None:
        raise ConnectionError("crashed before the commit")

    with monkeypatch.context() as patch:
        patch.setattr(UnitOfWork, "commit", crash)
        failed = api.handler(http_event("POST", "/accounts", tenant, {"name": "Lost"}), context)
    assert failed["statusCode"] == 500
    listed = api.handler(http_event("GET", "/accounts", tenant), context)
    assert json.loads(listed["body"])["items"] == []
    assert _stream_records(aws, stack, tenant) == []


def test_a_crash_after_the_write_and_before_publishing_loses_no_event(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = directory_tenant()
    ids = _create_accounts(lambda_env, tenant, 3)
    records = _stream_records(aws, stack, tenant)
    assert len(records) == 3
    context = lambda_env("DirectoryPublisherFunction")

    down = FakeEvents(crash=True)
    monkeypatch.setattr(outbox, "_events_client", lambda: down)
    with pytest.raises(ConnectionError):
        outbox.publisher_handler({"Records": records}, context)  # the stream will deliver the batch again

    up = FakeEvents()
    monkeypatch.setattr(outbox, "_events_client", lambda: up)
    assert outbox.publisher_handler({"Records": records}, context) == {"batchItemFailures": []}
    published = [json.loads(e["Detail"]) for batch in up.calls for e in batch]
    assert sorted(p["data"]["id"] for p in published) == sorted(ids)
    assert {p["type"] for p in published} == {"account.created"}
    assert all(e["Source"] == "kontakt.directory" for batch in up.calls for e in batch)


def test_failed_entries_fail_the_batch_from_its_first_record(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = directory_tenant()
    _create_accounts(lambda_env, tenant, 2)
    records = _stream_records(aws, stack, tenant)
    context = lambda_env("DirectoryPublisherFunction")
    partial = FakeEvents(fail_entries=1)
    monkeypatch.setattr(outbox, "_events_client", lambda: partial)
    result = outbox.publisher_handler({"Records": records}, context)
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}


def _probe_queue(aws: Emulator, stack: Stack, tenant: str, detail_type: str) -> tuple[Any, str]:
    """A queue of the test's own that the bus fills with the tenant's events of one type."""
    sqs, events = aws.client("sqs"), aws.client("events")
    queue_url = sqs.create_queue(QueueName=f"probe-{tenant}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.buses["EventBus"].name
    pattern = {"detail-type": [detail_type], "detail": {"tenant_id": [tenant]}}
    events.put_rule(Name=f"probe-{tenant}", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"probe-{tenant}", EventBusName=bus, Targets=[{"Id": "probe", "Arn": queue_arn}])
    return sqs, queue_url


def test_the_publisher_puts_events_on_the_real_bus(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack
) -> None:
    tenant = directory_tenant()
    ids = _create_accounts(lambda_env, tenant, 12)  # more than one PutEvents batch of 10
    records = _stream_records(aws, stack, tenant)
    context = lambda_env("DirectoryPublisherFunction")
    sqs, queue_url = _probe_queue(aws, stack, tenant, "account.created")

    assert outbox.publisher_handler({"Records": records}, context) == {"batchItemFailures": []}

    received = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        received += [json.loads(m["Body"])["detail"]["data"]["id"] for m in batch]
    assert sorted(received) == sorted(ids)


def _sized_envelope(tenant: str, name: str, size: int) -> Envelope:
    """An outbox event whose PutEvents entry is about `size` bytes (the publisher's count)."""
    envelope = Envelope(
        id=new_id(),
        type="probe.sized",
        tenant_id=tenant,
        occurred_at=datetime.now(UTC),
        actor=SYSTEM,
        correlation_id=name,
        data={"name": name, "pad": ""},
    )
    bare = 14 + len("kontakt.directory") + len("probe.sized") + len(envelope.model_dump_json().encode())
    return envelope.model_copy(update={"data": {"name": name, "pad": "x" * (size - bare)}})


def test_the_publisher_fits_the_real_bus_limits_and_sets_aside_what_cannot_fit(
    lambda_env: Any, aws: Emulator, stack: Stack
) -> None:
    """Against the emulator (which refuses a call over AWS's 1 MB): two pages of 173 KB (500 members
    before pages had a byte budget) go out once each within the publisher's 256 KB a call, and an
    event over 256 KB lands in the publisher's dead-letter queue while the events after it are
    published."""
    tenant = new_tenant()
    context = lambda_env("DirectoryPublisherFunction")
    sizes = {"small-1": 500, "page-1": 173_000, "page-2": 173_000, "too-big": 256 * 1024 + 1, "small-2": 500}
    for name, size in sizes.items():
        uow = UnitOfWork()
        uow.publish(_sized_envelope(tenant, name, size))
        uow.commit()
    records = _stream_records(aws, stack, tenant)
    assert len(records) == 5
    sqs, queue_url = _probe_queue(aws, stack, tenant, "probe.sized")

    assert outbox.publisher_handler({"Records": records}, context) == {"batchItemFailures": []}

    received = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(m["Body"])["detail"]["data"]["name"] for m in batch]
        sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
        )
    assert sorted(received) == ["page-1", "page-2", "small-1", "small-2"]  # each once, the big one not at all

    dlq = stack.queues["DirectoryPublisherDLQ"].url
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    aside = [json.loads(m["Body"]) for m in messages]
    mine = [a for a in aside if a.get("event", {}).get("tenant_id") == tenant]
    assert len(mine) == 1
    assert mine[0]["reason"] == "EntryTooLarge" and mine[0]["event"]["correlation_id"] == "too-big"
    assert mine[0]["entry_size"] > 256 * 1024
    assert mine[0]["keys"]["pk"] == f"OUTBOX#{mine[0]['event']['id']}"
