"""What the webhooks delivery tests share: endpoints, events on the bus, the stored records, the sweep."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from infra.runtime import LocalRuntime
from shared.contracts.directory import RecordChanged
from shared.events import Actor, Origin, new_event, requesting
from shared.ids import derived_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import bus_name, put_envelope, stored_data, table_name

DIRECTORY = Actor(type="service", id="directory")


def endpoint(admin: Api, url: str, **fields: Any) -> dict[str, Any]:
    created = admin.post("/webhooks/endpoints", json={"url": url, **fields})
    assert created.status_code == 201, created.text
    return dict(created.json())


def contact_created(stack: LocalRuntime, tenant: str, contact_id: str = "C1") -> dict[str, Any]:
    """A `contact.created` on the bus as the directory would put it; its envelope."""
    detail = contact_envelope(tenant, contact_id)
    put_envelope(stack, detail)
    return detail


# Where the request that made the test's events came from: a webhook's body leaves it out (personal data).
ORIGIN = Origin(request_id="req-1", ip="192.0.2.7", user_agent="Browser/1.0")


def contact_envelope(tenant: str, contact_id: str) -> dict[str, Any]:
    record = {"id": contact_id, "first_name": "Maija", "version": 1}
    with requesting(ORIGIN):  # as the directory's API would make it
        envelope = new_event("contact.created", tenant, RecordChanged(id=contact_id, record=record), actor=DIRECTORY)
    return envelope.model_dump(mode="json")


def delivered(envelope: dict[str, Any]) -> dict[str, Any]:
    """An envelope as a webhook delivers it: without the request's origin."""
    assert envelope["origin"] is not None
    return {key: value for key, value in envelope.items() if key != "origin"}


def put_together(stack: LocalRuntime, details: list[dict[str, Any]]) -> None:
    """Envelopes on the bus in one PutEvents (at most 10)."""
    entries = [
        {"Source": "kontakt.test", "DetailType": d["type"], "Detail": json.dumps(d), "EventBusName": bus_name(stack)}
        for d in details
    ]
    assert stack.client("events").put_events(Entries=entries)["FailedEntryCount"] == 0


def message_id(endpoint_id: str, event_id: str) -> str:
    return derived_id(endpoint_id, event_id)


def message(stack: LocalRuntime, tenant: str, mid: str) -> dict[str, Any]:
    return stored_data(stack, table_name(stack, "WebhooksTable"), tenant, "message", mid)


def attempts(stack: LocalRuntime, tenant: str, mid: str) -> list[dict[str, Any]]:
    """The message's attempt records' data, by number."""
    found = stack.client("dynamodb").query(
        TableName=table_name(stack, "WebhooksTable"),
        IndexName="by_type",
        KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"T#{tenant}#MESSAGE#{mid}#ATTEMPT"}},
    )
    read = TypeDeserializer()
    return [read.deserialize(item["data"]) for item in found["Items"]]


def sweep(stack: LocalRuntime, moment: datetime) -> None:
    """What the minute schedule puts on the webhooks jobs queue, for a firing at `moment` (the
    caller's settle drains: the sweep and the deliveries it queues)."""
    assert stack.stack is not None
    queue = stack.stack.queues["WebhooksJobsQueue"]
    body = {"job": "webhooks.sweep", "scheduled_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    stack.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(body))


def queue_delivery(stack: LocalRuntime, tenant: str, mid: str, attempt: int) -> None:
    """A delivery queue message as the fan-out, a retry or the sweep sends it (a redelivery, say)."""
    assert stack.stack is not None
    queue = stack.stack.queues["WebhooksDeliveryQueue"]
    body = {"tenant_id": tenant, "message_id": mid, "attempt": attempt}
    stack.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(body))
