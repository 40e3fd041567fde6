"""A deliverer killed between its request and its record (issue 20 item 4: "no attempt is lost or
made twice by a crash between sent and recorded"). The runtime kills the delivery function's process
before its record's TransactWriteItems (infra/faults.py), after the receiver got the request. The
sweep, once the claim's deadline passed, records attempt 1 as `interrupted` and schedules attempt 2;
a redelivery of attempt 1's queue message finds the attempt taken and sends nothing. The receiver
counts requests by webhook-id. The module's killed delivery stays in flight for its visibility
timeout, so it is marked `failed_deliveries`; a drain passes it by (it counts visible messages, no
pump holds that one), so the sweeps and redeliveries are awaited with drains, not sleeps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.webhooks.delivery_helpers import (
    attempts,
    contact_created,
    endpoint,
    message,
    message_id,
    queue_delivery,
)
from tests.e2e.webhooks.receiver import receiver

pytestmark = pytest.mark.failed_deliveries
T = TypeVar("T")
DELIVERY = "WebhooksDeliveryFunction"
CLAIM_TIMEOUT = timedelta(minutes=2)  # services/webhooks/delivery.py


def until(ready: Callable[[], T], timeout: float = 90, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = ready()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def sweep_at(stack: LocalRuntime, moment: datetime) -> None:
    assert stack.stack is not None
    queue = stack.stack.queues["WebhooksJobsQueue"]
    body = {"job": "webhooks.sweep", "scheduled_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    stack.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(body))


def test_a_deliverer_killed_after_sending_loses_no_attempt_and_makes_none_twice(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    assert stack.functions is not None
    crash = Fault("dynamodb", "TransactWriteItems", "before")  # the record, after the request
    with receiver() as hooks, stack.functions.configured(DELIVERY, faults=[crash]) as (armed,):
        hook = endpoint(admin, hooks.url("/crash"), event_types=["contact.*"])
        event = contact_created(stack, tenant)
        mid = message_id(hook["id"], event["id"])
        assert until(lambda: hooks.at("/crash"))  # attempt 1 reached the receiver ...
        assert until(lambda: armed.fired)  # ... and the deliverer died before recording it
        assert until(lambda: message(stack, tenant, mid).get("status") == "sending")
        assert attempts(stack, tenant, mid) == []

        sweep_at(stack, datetime.now(UTC))  # the claim is fresh: the sweep leaves it alone
        stack.drain()
        assert message(stack, tenant, mid)["status"] == "sending" and len(hooks.at("/crash")) == 1

        sweep_at(stack, datetime.now(UTC) + CLAIM_TIMEOUT + timedelta(minutes=1))  # past the claim's deadline
        assert until(lambda: message(stack, tenant, mid).get("status") == "delivered"), message(stack, tenant, mid)
        queue_delivery(stack, tenant, mid, 1)  # attempt 1's queue message again, as its redelivery
        queue_delivery(stack, tenant, mid, 2)  # and attempt 2's
        stack.drain()

    requests = hooks.at("/crash")
    assert [r.headers["webhook-id"] for r in requests] == [mid, mid]  # attempt 1, attempt 2: no other
    made = attempts(stack, tenant, mid)
    assert [(a["number"], a.get("error"), a["outcome"]) for a in made] == [
        (1, "interrupted", "retry"),
        (2, None, "delivered"),
    ]
    assert message(stack, tenant, mid)["attempts"] == 2
