"""The webhooks deliverer in-process against the emulator, its requests answered by a stand-in
(`deliver_batch(..., send=...)`: no connection at all): Retry-After within the schedule's bounds,
a long wait held in the due index rather than on the queue, and a resend (`messages.requeue`, the
replay API's entry point) starting a new round of the schedule."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from infra.emulator import Emulator
from infra.template import Stack
from shared.ids import new_id

SECRET = "whsec_" + "a" * 44


@pytest.fixture
def deliverer(lambda_env: Any, aws: Emulator) -> Any:
    context = lambda_env("WebhooksDeliveryFunction")
    from services.webhooks import messages

    messages._sqs.cache_clear()
    return context


def seeded(tenant: str) -> tuple[str, str]:
    """An endpoint and one pending message to it (as the fan-out leaves it); their ids."""
    from services.webhooks import messages
    from services.webhooks.service import service_caller
    from shared import clock
    from shared.store import UnitOfWork

    caller = service_caller(tenant, open_tenant=False)
    endpoint_id = new_id()
    endpoint = {"url": "https://hooks.example.com/in", "event_types": [], "enabled": True, "secret": SECRET}
    uow = UnitOfWork()
    caller.store.add(uow, caller.store.new(tenant, "endpoint", endpoint_id, endpoint))
    record = messages.new_message(tenant, endpoint_id, new_id(), "contact.created", '{"a":1}', clock.now())
    caller.store.add(uow, record)
    uow.commit()
    return endpoint_id, record.record_id


def stored(tenant: str, message_id: str) -> Any:
    from services.webhooks.store import Record
    from shared.store import record_key

    return Record.get(record_key(tenant, "message", message_id), "MESSAGE", consistent_read=True)


def answering(status: int, headers: dict[str, str] | None = None) -> Any:
    from services.webhooks.transport import Answer

    sent: list[dict[str, str]] = []

    def send(url: str, body: str, request_headers: dict[str, str]) -> Answer:
        sent.append(request_headers)
        return Answer(status_code=status, headers=headers or {}, body="")

    send.sent = sent  # type: ignore[attr-defined]
    return send


def body(tenant: str, message_id: str, attempt: int) -> str:
    return json.dumps({"tenant_id": tenant, "message_id": message_id, "attempt": attempt})


def queued(stack: Stack) -> list[dict[str, Any]]:
    """The delivery queue's messages (read and left to expire)."""
    import boto3

    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=stack.queues["WebhooksDeliveryQueue"].url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in found.get("Messages", [])]


def waited(record: Any) -> float:
    data = record.data
    return (
        datetime.fromisoformat(data["next_attempt_at"]) - datetime.fromisoformat(data["last_attempt_at"])
    ).total_seconds()


def test_retry_after_is_honoured_within_the_schedule(deliverer: Any, stack: Stack) -> None:
    from services.webhooks.delivery import deliver_batch
    from services.webhooks.domain.messages import jittered

    tenant = "t" + new_id().lower()
    _, later = seeded(tenant)
    assert deliver_batch([body(tenant, later, 1)], send=answering(429, {"retry-after": "3600"})) == [None]
    record = stored(tenant, later)
    assert record.data["status"] == "pending" and 3599 <= waited(record) <= 3602  # an hour, as asked
    assert record.duesk.startswith(record.data["next_attempt_at"])  # past SQS's 15 min: held in the due index

    _, sooner = seeded(tenant)
    assert deliver_batch([body(tenant, sooner, 1)], send=answering(503, {"retry-after": "1"})) == [None]
    record = stored(tenant, sooner)
    assert abs(waited(record) - jittered(sooner, 2)) < 1.5  # never sooner than the schedule's 5 s (±20 %)


def test_a_resend_starts_a_new_round_and_a_stale_queue_message_sends_nothing(deliverer: Any, stack: Stack) -> None:
    from services.webhooks import messages
    from services.webhooks.delivery import deliver_batch
    from services.webhooks.service import service_caller

    tenant = "t" + new_id().lower()
    _, message_id = seeded(tenant)
    rejected = answering(400)
    assert deliver_batch([body(tenant, message_id, 1)], send=rejected) == [None]
    assert (stored(tenant, message_id).data["status"], stored(tenant, message_id).data["reason"]) == (
        "failed",
        "rejected",
    )

    assert deliver_batch([body(tenant, message_id, 1)], send=rejected) == [None]  # attempt 1 again: nothing
    assert len(rejected.sent) == 1

    messages.requeue(service_caller(tenant, open_tenant=False), message_id)
    record = stored(tenant, message_id)
    assert (record.data["status"], record.data["round_start"], record.data["attempts"]) == ("pending", 1, 1)
    assert {"tenant_id": tenant, "message_id": message_id, "attempt": 2, "slow": False} in queued(stack)
    accepted = answering(200)
    assert deliver_batch([body(tenant, message_id, 2)], send=accepted) == [None]
    record = stored(tenant, message_id)
    assert (record.data["status"], record.data["attempts"]) == ("delivered", 2)
    assert accepted.sent[0]["webhook-id"] == message_id  # the same id on every attempt, resends too


def test_a_deleted_or_disabled_endpoint_or_a_refused_address_fails_the_message(deliverer: Any, stack: Stack) -> None:
    from services.webhooks.delivery import deliver_batch
    from services.webhooks.domain.messages import WebhookAttemptError
    from services.webhooks.service import service_caller
    from services.webhooks.transport import Answer
    from shared.store import UnitOfWork

    tenant = "t" + new_id().lower()
    caller = service_caller(tenant, open_tenant=False)
    deleted_endpoint, to_deleted = seeded(tenant)
    disabled_endpoint, to_disabled = seeded(tenant)
    _, to_refused = seeded(tenant)
    uow = UnitOfWork()
    caller.store.remove(uow, caller.store.get(tenant, "endpoint", deleted_endpoint))  # type: ignore[arg-type]
    record = caller.store.get(tenant, "endpoint", disabled_endpoint)
    assert record is not None
    caller.store.replace(uow, record, {**record.data, "enabled": False})
    uow.commit()
    never = answering(200)
    assert deliver_batch([body(tenant, to_deleted, 1), body(tenant, to_disabled, 1)], send=never) == [None, None]
    assert never.sent == []  # no request for either
    assert stored(tenant, to_deleted).data["reason"] == "endpoint_deleted"
    assert stored(tenant, to_disabled).data["reason"] == "endpoint_disabled"

    def refused(url: str, body: str, headers: dict[str, str]) -> Answer:
        return Answer(error=WebhookAttemptError.refused_address)

    assert deliver_batch([body(tenant, to_refused, 1)], send=refused) == [None]
    data = stored(tenant, to_refused).data
    assert (data["status"], data["reason"], data["attempts"]) == ("failed", "refused_address", 1)  # no retry


def more_messages(tenant: str, endpoint_id: str, count: int) -> list[str]:
    """`count` more pending messages to an endpoint (as the fan-out leaves them); their ids."""
    from services.webhooks import messages
    from services.webhooks.service import service_caller
    from shared import clock
    from shared.store import UnitOfWork

    caller = service_caller(tenant, open_tenant=False)
    uow = UnitOfWork()
    ids = []
    for _ in range(count):
        record = messages.new_message(tenant, endpoint_id, new_id(), "contact.created", '{"a":1}', clock.now())
        caller.store.add(uow, record)
        ids.append(record.record_id)
    uow.commit()
    return ids


def health(tenant: str, endpoint_id: str) -> Any:
    from services.webhooks.store import HealthItem

    return HealthItem.get(HealthItem.of(tenant, endpoint_id).pk, "HEALTH", consistent_read=True)


def test_a_batch_is_two_reads_one_claim_and_one_record(deliverer: Any, stack: Stack, aws_calls: Any) -> None:
    """Five messages to two endpoints: the messages in one BatchGetItem, the endpoints with their
    health items in one more, the five claims in one TransactWriteItems, the five attempts' records
    (and each endpoint's health once) in one more; every message delivered, its attempt recorded."""
    from services.webhooks.delivery import deliver_batch

    tenant = "t" + new_id().lower()
    first, one = seeded(tenant)
    second, two = seeded(tenant)
    ids = [one, two, *more_messages(tenant, first, 2), *more_messages(tenant, second, 1)]
    accepted = answering(200)
    aws_calls.clear()
    assert deliver_batch([body(tenant, m, 1) for m in ids], send=accepted) == [None] * 5
    assert dict(aws_calls) == {"BatchGetItem": 2, "TransactWriteItems": 2}
    assert sorted(h["webhook-id"] for h in accepted.sent) == sorted(ids)  # each sent once
    for m in ids:
        assert (stored(tenant, m).data["status"], stored(tenant, m).data["attempts"]) == ("delivered", 1)
    assert health(tenant, first).failures == 0 and health(tenant, first).last_success_at


def test_a_duplicate_queue_message_blocks_none_of_its_batch_and_failures_all_count(
    deliverer: Any, stack: Stack, aws_calls: Any
) -> None:
    """A batch holding one queue message twice: its batch claim is refused (one item twice), the
    claims go one by one, the duplicate is dropped and the others are sent, each once. Three
    failures of one endpoint recorded in one transaction count three on its health item."""
    from services.webhooks.delivery import deliver_batch

    tenant = "t" + new_id().lower()
    endpoint_id, one = seeded(tenant)
    ids = [one, *more_messages(tenant, endpoint_id, 2)]
    failing = answering(503)
    aws_calls.clear()
    bodies = [body(tenant, ids[0], 1), body(tenant, ids[0], 1), body(tenant, ids[1], 1), body(tenant, ids[2], 1)]
    assert deliver_batch(bodies, send=failing) == [None] * 4
    assert sorted(h["webhook-id"] for h in failing.sent) == sorted(ids)  # the duplicate sent nothing
    assert aws_calls["UpdateItem"] == 4 and aws_calls["TransactWriteItems"] == 2  # refused batch claim, one record
    for m in ids:
        data = stored(tenant, m).data
        assert (data["status"], data["attempts"]) == ("pending", 1)  # attempt 2 scheduled
    assert health(tenant, endpoint_id).failures == 3 and health(tenant, endpoint_id).failing_since


def test_a_message_to_an_endpoint_that_timed_out_moves_to_the_slow_lane_unsent(deliverer: Any, stack: Stack) -> None:
    """The health item read with the endpoints (one BatchGetItem) is what sends the next message of
    an endpoint that timed out to the slow lane, unclaimed and unsent."""
    from services.webhooks.delivery import deliver_batch
    from services.webhooks.domain.messages import WebhookAttemptError
    from services.webhooks.transport import Answer

    tenant = "t" + new_id().lower()
    endpoint_id, first = seeded(tenant)
    [second] = more_messages(tenant, endpoint_id, 1)

    def timed_out(url: str, body: str, headers: dict[str, str]) -> Answer:
        return Answer(error=WebhookAttemptError.timeout)

    assert deliver_batch([body(tenant, first, 1)], send=timed_out) == [None]
    assert health(tenant, endpoint_id).slow_until
    never = answering(200)
    assert deliver_batch([body(tenant, second, 1)], send=never) == [None]
    assert never.sent == [] and stored(tenant, second).data["status"] == "pending"
    import boto3

    sqs = boto3.client("sqs")
    found = sqs.receive_message(QueueUrl=stack.queues["WebhooksSlowQueue"].url, MaxNumberOfMessages=10)
    bodies = [json.loads(m["Body"]) for m in found.get("Messages", [])]
    assert {"tenant_id": tenant, "message_id": second, "attempt": 1, "slow": True} in bodies


def contact_events(tenant: str, count: int) -> list[Any]:
    """`count` contact.created envelopes of a tenant, as the directory publishes them."""
    from shared.events import Envelope

    return [
        Envelope(
            id=new_id(),
            type="contact.created",
            tenant_id=tenant,
            occurred_at="2026-12-05T10:00:00Z",
            actor={"type": "service", "id": "directory"},
            correlation_id="c-1",
            data={"id": f"c{n}", "record": {"id": f"c{n}", "version": 1}},
        )
        for n in range(count)
    ]


def test_a_consumer_batch_is_one_query_one_read_one_transaction_and_keeps_the_tenants_retention(
    lambda_env: Any, stack: Stack, aws_calls: Any
) -> None:
    """Three events of a tenant whose retention is 7 days: the endpoints' Query, one BatchGetItem
    of the settings with the health items, one transaction of the messages with their markers, one
    SendMessageBatch; each message expires 7 days after it was made."""
    from services.webhooks import messages
    from services.webhooks.handlers import consumer
    from services.webhooks.service import service_caller
    from shared.store import UnitOfWork
    from tests.integration.conftest import bus_delivery, sqs_event

    context = lambda_env("WebhooksConsumerFunction")
    messages._sqs.cache_clear()
    tenant = "t" + new_id().lower()
    endpoint_id, _ = seeded(tenant)
    caller = service_caller(tenant, open_tenant=False)
    uow = UnitOfWork()
    caller.store.add(uow, caller.store.new(tenant, "setting", "webhooks", {"allow_http": False, "retention_days": 7}))
    uow.commit()
    events = contact_events(tenant, 3)
    deliveries = [bus_delivery(e.model_dump(mode="json")) for e in events]
    aws_calls.clear()
    queue = stack.queues["WebhooksEventsQueue"].arn
    assert consumer.handler(sqs_event(deliveries, queue), context) == {"batchItemFailures": []}
    assert dict(aws_calls) == {"Query": 1, "BatchGetItem": 1, "TransactWriteItems": 1, "SendMessageBatch": 1}
    for event in events:
        record = stored(tenant, messages.message_id_of(endpoint_id, event.id))
        created = datetime.fromisoformat(record.data["created_at"])
        assert abs((record.expires_at - created).total_seconds() - 7 * 86400) < 2


def test_a_consumer_batch_of_a_tenant_without_endpoints_writes_nothing(
    lambda_env: Any, stack: Stack, aws_calls: Any
) -> None:
    """Most tenants have no endpoint: their events cost the endpoints' Query and nothing else, no
    dedupe markers (shared/consumer.py: a together handler that stages nothing changes nothing);
    delivered again, the same; and once the tenant has an endpoint its events make messages."""
    from services.webhooks import messages
    from services.webhooks.handlers import consumer
    from tests.integration.conftest import bus_delivery, sqs_event

    context = lambda_env("WebhooksConsumerFunction")
    messages._sqs.cache_clear()
    tenant = "t" + new_id().lower()
    events = contact_events(tenant, 3)
    queue = stack.queues["WebhooksEventsQueue"].arn
    batch = sqs_event([bus_delivery(e.model_dump(mode="json")) for e in events], queue)
    for _ in range(2):
        aws_calls.clear()
        assert consumer.handler(batch, context) == {"batchItemFailures": []}
        assert dict(aws_calls) == {"Query": 1}
    endpoint_id, _ = seeded(tenant)
    assert consumer.handler(batch, context) == {"batchItemFailures": []}
    assert all(stored(tenant, messages.message_id_of(endpoint_id, e.id)) is not None for e in events)
