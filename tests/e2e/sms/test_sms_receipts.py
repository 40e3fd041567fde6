"""Delivery receipts and the sender's crash safety through `kontakt dev` (issue 19 items 5 and 6).

The emulated End User Messaging SMS puts each accepted message's delivery events on the default bus
(TEXT_SUCCESSFUL then TEXT_DELIVERED, or TEXT_UNREACHABLE for AWS's failing simulator number), its
context naming our tenant and message: a rule queues them for the receipts function. A receipt
moves a message forward only (sent -> delivered / failed), once, whatever is redelivered; a receipt
for a message still "sending" settles it as sent (the proof that the provider accepted it), so a
sender killed between the provider's answer and its own record loses and doubles nothing.

The sender's process is killed by a fault the local runtime injects at its SendTextMessage call
(infra/faults.py), as tests/e2e/email/test_sender_crash.py kills the email sender; the module's
tests share one tenant. Failed deliveries of the send queue are expected here (a redelivery that
finds its message claimed without a receipt fails on purpose): the receipts queue is checked alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from infra.sms_emulation import DETAIL_TYPE, SOURCE, delivery_events, sent_messages
from shared.ids import derived_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import created, drain, envelopes, new_tenant, poll_until, quick_redelivery, settle, walk

pytestmark = pytest.mark.failed_deliveries

SENDER = "SmsSenderFunction"
SEND_QUEUE = "kontakt-dev-sms-send"
RECEIPTS_QUEUE = "kontakt-dev-sms-receipts"
UNREACHABLE = "+358 457 3979111"  # AWS's failing simulator number for Finland
TEXT = "Tilauksesi on noudettavissa."


@pytest.fixture(scope="module")
def shop(stack: LocalRuntime, session_api: Api) -> tuple[str, Api]:
    """One tenant for the module: SMS active, 50 credits."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    assert admin.patch("/sms/settings", json={"active": True}).status_code == 200
    assert admin.post("/sms/credits", json={"credits": 50}).status_code == 201
    return tenant, admin


@pytest.fixture(scope="module", autouse=True)
def _quick_redelivery(stack: LocalRuntime) -> Iterator[None]:
    with quick_redelivery(stack, SEND_QUEUE):
        yield


def contact(stack: LocalRuntime, admin: Api, mobile: str) -> str:
    contact_id = str(created(admin.post("/contacts", json={"first_name": "Maija", "mobile": mobile}))["id"])
    drain(stack, busy_ok=True)
    return contact_id


def send(stack: LocalRuntime, admin: Api, contact_id: str) -> str:
    """A message to the contact's mobile once the SMS service knows the contact; its id."""
    body = {"contact_id": contact_id, "number_field": "mobile", "text": TEXT}
    answer = settle(stack, lambda: (r := admin.post("/sms/messages", json=body)).status_code == 201 and r)
    assert answer, "the SMS service never heard of the contact"
    return str(answer.json()["id"])


def message(admin: Api, message_id: str) -> dict[str, Any]:
    return dict(admin.get(f"/sms/messages/{message_id}").json())


def at_provider(stack: LocalRuntime, message_id: str) -> list[dict[str, Any]]:
    """What the provider accepted for the message."""
    return [m for m in sent_messages(stack.sms_dir) if m["Context"].get("message_id") == message_id]


def events_of(stack: LocalRuntime, tenant: str, event_type: str, message_id: str) -> list[dict[str, Any]]:
    return [e for e in envelopes(stack, tenant, event_type) if e["data"]["message_id"] == message_id]


def ledger_of(admin: Api, message_id: str) -> list[tuple[str, int]]:
    entries = walk(admin, "/sms/ledger", limit=100)
    return sorted((e["type"], e["credits"]) for e in entries if e.get("message_id") == message_id)


def receipt(stack: LocalRuntime, detail: dict[str, Any], detail_type: str = DETAIL_TYPE) -> None:
    """An event on the default bus as End User Messaging SMS puts it there."""
    entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)}
    answer = stack.client("events").put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, answer


def receipts_failed(stack: LocalRuntime) -> dict[str, int]:
    drain(stack, busy_ok=True)
    return {q: n for q, n in stack.failed_deliveries().items() if q.startswith(RECEIPTS_QUEUE)}


def test_a_delivered_message_is_recorded_once_whatever_comes_again(stack: LocalRuntime, shop: tuple[str, Api]) -> None:
    tenant, admin = shop
    message_id = send(stack, admin, contact(stack, admin, "040 123 4567"))
    done = settle(stack, lambda: (m := message(admin, message_id))["status"] == "delivered" and m)
    assert done, message(admin, message_id)
    [accepted] = at_provider(stack, message_id)
    assert done["provider_message_id"] == accepted["MessageId"]
    assert done["sent_at"] <= done["delivered_at"]
    [sent] = settle(stack, lambda: events_of(stack, tenant, "sms.sent", message_id))
    [delivered] = settle(stack, lambda: events_of(stack, tenant, "sms.delivered", message_id))
    assert delivered["id"] == derived_id("sms.delivered", message_id)
    assert (delivered["data"]["to"], delivered["data"]["contact_id"]) == ("+358401234567", done["contact_id"])

    # The provider's events again (a redelivery), a late TEXT_SUCCESSFUL and a failure after the
    # delivery: the status never goes back, nothing is published or charged twice.
    again = delivery_events(accepted)
    late_failure = {**again[-1], "eventType": "TEXT_CARRIER_UNREACHABLE", "messageStatusDescription": "Gone"}
    for detail in [*again, *reversed(again), late_failure]:
        receipt(stack, detail)
    assert receipts_failed(stack) == {}
    assert message(admin, message_id) == done  # not a field changed, not even the version
    assert len(events_of(stack, tenant, "sms.sent", message_id)) == 1 and sent["data"]["to"] == "+358401234567"
    assert len(events_of(stack, tenant, "sms.delivered", message_id)) == 1
    assert events_of(stack, tenant, "sms.failed", message_id) == []
    assert ledger_of(admin, message_id) == [("charge", 1), ("reservation", 1)]


def test_an_unreachable_number_fails_with_the_providers_reason(stack: LocalRuntime, shop: tuple[str, Api]) -> None:
    tenant, admin = shop
    message_id = send(stack, admin, contact(stack, admin, UNREACHABLE))
    failed = settle(stack, lambda: (m := message(admin, message_id))["status"] == "failed" and m)
    assert failed, message(admin, message_id)
    assert failed["reason"] == "The destination phone number is unreachable"
    assert failed["sent_at"] and failed["delivered_at"] is None
    [event] = settle(stack, lambda: events_of(stack, tenant, "sms.failed", message_id))
    assert (event["data"]["receipt"], event["data"]["reason"]) == ("TEXT_UNREACHABLE", failed["reason"])
    assert event["id"] == derived_id("sms.failed", message_id)
    # the provider took it: sent (a marketing activity) and its part charged, not refunded
    assert len(events_of(stack, tenant, "sms.sent", message_id)) == 1
    assert ledger_of(admin, message_id) == [("charge", 1), ("reservation", 1)]

    # a delivery reported after the failure changes nothing
    [accepted] = at_provider(stack, message_id)
    receipt(stack, {**delivery_events(accepted)[0], "eventType": "TEXT_DELIVERED"})
    assert receipts_failed(stack) == {}
    assert message(admin, message_id) == failed
    assert events_of(stack, tenant, "sms.delivered", message_id) == []


def test_receipts_that_are_not_ours_are_dropped(stack: LocalRuntime, shop: tuple[str, Api]) -> None:
    tenant, admin = shop
    message_id = send(stack, admin, contact(stack, admin, "050 555 0101"))
    done = settle(stack, lambda: (m := message(admin, message_id))["status"] == "delivered" and m)
    assert done, message(admin, message_id)
    [accepted] = at_provider(stack, message_id)
    failure = {**delivery_events(accepted)[-1], "eventType": "TEXT_BLOCKED", "messageStatusDescription": "Blocked"}
    receipt(stack, {**failure, "context": {}})  # no context: another application's message
    receipt(stack, {**failure, "context": {"account": "bar"}})
    receipt(stack, {**failure, "context": {"tenant_id": "t" + "0" * 16, "message_id": message_id}})  # no such tenant
    receipt(stack, {**failure, "context": {"tenant_id": tenant, "message_id": "01JNOSUCHMESSAGE0000000000"}})
    receipt(stack, {**failure, "eventType": "VOICE_FAILED"})  # not a text message's
    assert receipts_failed(stack) == {}
    assert message(admin, message_id) == done
    assert events_of(stack, tenant, "sms.failed", message_id) == []


@contextmanager
def crashing_sender(stack: LocalRuntime, when: Literal["before", "after"], proof_window: str) -> Iterator[Fault]:
    """The sender's process exits once, `when` ("before" or "after") its SendTextMessage call."""
    assert stack.functions is not None
    drain(stack, busy_ok=True)
    crash = Fault("pinpoint-sms-voice-v2", "SendTextMessage", when)
    environment = {"PROOF_WINDOW_SECONDS": proof_window}
    with stack.functions.configured(SENDER, environment=environment, faults=[crash]) as (armed,):
        yield armed


def stored_status(admin: Api, message_id: str) -> str:
    return str(message(admin, message_id).get("status"))


def test_a_sender_killed_between_accepted_and_recorded_sends_once(stack: LocalRuntime, shop: tuple[str, Api]) -> None:
    tenant, admin = shop
    maija = contact(stack, admin, "040 765 4321")
    with crashing_sender(stack, "after", proof_window="600") as crash:
        message_id = send(stack, admin, maija)
        # the provider took it and the sender died before its record: the receipts settle it
        [accepted] = poll_until(lambda: at_provider(stack, message_id))
        assert poll_until(lambda: stored_status(admin, message_id) == "delivered"), message(admin, message_id)
        assert crash.fired  # the sender did die after SendTextMessage
    done = message(admin, message_id)
    assert (done["provider_message_id"], done["sent_at"] <= done["delivered_at"]) == (accepted["MessageId"], True)
    [sent] = settle(stack, lambda: events_of(stack, tenant, "sms.sent", message_id), busy_ok=True)
    assert sent["id"] == derived_id("sms.sent", message_id)
    assert len(settle(stack, lambda: events_of(stack, tenant, "sms.delivered", message_id), busy_ok=True)) == 1
    # redeliveries of the queue message found it settled: nothing sent, charged or published again
    assert poll_until(lambda: receipts_failed(stack) == {} and SEND_QUEUE not in stack.failed_deliveries())
    assert len(at_provider(stack, message_id)) == 1
    assert ledger_of(admin, message_id) == [("charge", 1), ("reservation", 1)]
    assert len(events_of(stack, tenant, "sms.sent", message_id)) == 1
    assert message(admin, message_id) == done


def test_a_sender_killed_before_the_provider_sends_once_after_the_window(
    stack: LocalRuntime, shop: tuple[str, Api]
) -> None:
    tenant, admin = shop
    maija = contact(stack, admin, "040 765 1111")
    with crashing_sender(stack, "before", proof_window="3") as crash:
        message_id = send(stack, admin, maija)
        assert poll_until(lambda: stored_status(admin, message_id) == "sending")
        assert at_provider(stack, message_id) == []  # died before the provider
        # no receipt comes: once the claim is older than the window a redelivery sends it
        assert poll_until(lambda: stored_status(admin, message_id) == "delivered"), message(admin, message_id)
        assert crash.fired
    assert len(at_provider(stack, message_id)) == 1
    assert ledger_of(admin, message_id) == [("charge", 1), ("reservation", 1)]
    assert len(settle(stack, lambda: events_of(stack, tenant, "sms.sent", message_id), busy_ok=True)) == 1
