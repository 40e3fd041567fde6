"""The directory adds the new customer a contact order names, once, however often the event arrives."""

from __future__ import annotations

import json
from typing import Any

from infra.emulator import Emulator
from infra.template import Stack
from services.directory.handlers import api, consumer
from shared.contracts.contact_orders import new_customer_ids
from shared.events import Envelope
from shared.ids import new_id
from tests.integration.conftest import bus_delivery, http_event, new_tenant, sqs_event


def _outbox(aws: Emulator, stack: Stack, tenant: str, event_type: str) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(
        TableName=stack.tables["DirectoryTable"].name,
        FilterExpression="kind = :k AND event_type = :t",
        ExpressionAttributeValues={":k": {"S": "outbox"}, ":t": {"S": event_type}},
    )["Items"]
    envelopes = [json.loads(i["envelope"]["S"]) for i in items]
    return [e for e in envelopes if e["tenant_id"] == tenant]


def _order_created(tenant: str, order_id: str, new_customer: dict[str, Any] | None) -> dict[str, Any]:
    """`contact_order.created` as the activities service publishes it."""
    envelope = Envelope(
        id=new_id(),
        type="contact_order.created",
        tenant_id=tenant,
        occurred_at="2026-11-24T10:00:00Z",
        actor={"type": "user", "id": "u1"},
        correlation_id="c-1",
        data={"id": order_id, "order": {"id": order_id}, "new_customer": new_customer},
    )
    return envelope.model_dump(mode="json")


def _new_customer(order_id: str) -> dict[str, Any]:
    account_id, contact_id = new_customer_ids(order_id)
    return {
        "account_id": account_id,
        "owner_id": "u1",
        "name": "Konepaja Oy",
        "city": "Tampere",
        "contact": {"contact_id": contact_id, "first_name": "Mia", "email": "mia@konepaja.example.fi"},
    }


def _get(lambda_env: Any, tenant: str, path: str) -> dict[str, Any]:
    response = api.handler(http_event("GET", path, tenant, user="u1", role="user"), lambda_env("DirectoryApiFunction"))
    assert response["statusCode"] == 200, response["body"]
    return dict(json.loads(response["body"]))


def test_the_same_event_twice_in_a_batch_and_again_creates_one_account_and_contact(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack
) -> None:
    tenant, order_id = directory_tenant(), new_id()
    envelope = _order_created(tenant, order_id, _new_customer(order_id))
    context = lambda_env("DirectoryConsumerFunction")
    queue = stack.queues["DirectoryEventsQueue"].arn
    twice = [bus_delivery(envelope), bus_delivery(envelope)]
    assert consumer.handler(sqs_event(twice, queue), context) == {"batchItemFailures": []}
    assert consumer.handler(sqs_event([bus_delivery(envelope)], queue), context) == {"batchItemFailures": []}
    again = {**envelope, "id": new_id()}  # redelivered after its dedupe marker expired
    assert consumer.handler(sqs_event([bus_delivery(again)], queue), context) == {"batchItemFailures": []}

    account_id, contact_id = new_customer_ids(order_id)
    assert [e["data"]["id"] for e in _outbox(aws, stack, tenant, "account.created")] == [account_id]
    assert [e["data"]["id"] for e in _outbox(aws, stack, tenant, "contact.created")] == [contact_id]
    assert {e["actor"]["id"] for e in _outbox(aws, stack, tenant, "account.created")} == {"u1"}
    account = _get(lambda_env, tenant, f"/accounts/{account_id}")
    assert (account["name"], account["number"], account["status"], account["owner"]["id"]) == (
        "Konepaja Oy",
        "ACC-1001",
        "active",
        "u1",
    )
    contact = _get(lambda_env, tenant, f"/contacts/{contact_id}")
    assert (contact["first_name"], contact["account_id"], contact["number"]) == ("Mia", account_id, "CON-1001")


def test_an_order_for_an_existing_customer_adds_nothing(lambda_env: Any, aws: Emulator, stack: Stack) -> None:
    tenant = new_tenant()
    context = lambda_env("DirectoryConsumerFunction")
    delivery = bus_delivery(_order_created(tenant, new_id(), None))
    assert consumer.handler(sqs_event([delivery], stack.queues["DirectoryEventsQueue"].arn), context) == {
        "batchItemFailures": []
    }
    assert _outbox(aws, stack, tenant, "account.created") == []


def test_without_the_active_status_the_account_takes_another_active_one(
    lambda_env: Any, directory_tenant: Any, aws: Emulator, stack: Stack
) -> None:
    tenant, order_id = directory_tenant(), new_id()
    statuses = {"items": [{"code": "prospect", "label": "Prospect"}, {"code": "active", "label": "A", "active": False}]}
    put = api.handler(
        http_event("PUT", "/picklists/account_status", tenant, statuses), lambda_env("DirectoryApiFunction")
    )
    assert put["statusCode"] == 200, put["body"]
    customer = {**_new_customer(order_id), "contact": None}
    delivery = bus_delivery(_order_created(tenant, order_id, customer))
    context = lambda_env("DirectoryConsumerFunction")
    assert consumer.handler(sqs_event([delivery], stack.queues["DirectoryEventsQueue"].arn), context) == {
        "batchItemFailures": []
    }
    account = _get(lambda_env, tenant, f"/accounts/{new_customer_ids(order_id)[0]}")
    assert account["status"] == "prospect"
    assert _outbox(aws, stack, tenant, "contact.created") == []
