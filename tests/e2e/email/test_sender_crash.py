"""The sender survives a crash at any point without losing or duplicating a mail (issue 5 "Sending").

The sender's process is killed once, by a fault the local runtime injects at its SES call
(infra/faults.py; nothing in the sender's code): after SES accepted the mail, before the send is
recorded; or before the SES call, after the claim. The send queue then redelivers the queue
message (its visibility timeout is cut to seconds here, and its redrive to the DLQ lifted: five
quick receives would move it there) and the test checks that moto's SES holds exactly one mail,
the message is "sent" and exactly one `email.sent` went out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import request_mail, ses_raw_messages, stored_message
from tests.e2e.helpers import envelopes, poll_until, quick_redelivery, settle

SENDER = "EmailSenderFunction"
SEND_QUEUE = "kontakt-dev-email-send"


@pytest.fixture(scope="module", autouse=True)
def _quick_redelivery(stack: LocalRuntime) -> Iterator[None]:
    with quick_redelivery(stack, SEND_QUEUE):
        yield


@contextmanager
def crashing_sender(stack: LocalRuntime, when: Literal["before", "after"], proof_window: str) -> Iterator[Fault]:
    """The sender's process exits once, `when` ("before" or "after") its SES SendEmail call."""
    assert stack.functions is not None
    stack.drain()
    crash = Fault("sesv2", "SendEmail", when)
    environment = {"PROOF_WINDOW_SECONDS": proof_window}
    with stack.functions.configured(SENDER, environment=environment, faults=[crash]) as (armed,):
        yield armed


def _request(stack: LocalRuntime, tenant: str, to: str) -> str:
    return request_mail(stack, tenant, to=to, subject="Crash-safe")


def _sent_mails(stack: LocalRuntime, message_id: str) -> list[dict[str, Any]]:
    """moto's SES record of the raw mails carrying our Message-ID."""
    return [m for m in ses_raw_messages(stack) if f"<{message_id}@kontakt>" in m.get("raw_data", "")]


def test_a_crash_between_sent_and_recorded_sends_once(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    with crashing_sender(stack, "after", proof_window="600") as crash:
        message_id = _request(stack, tenant, "crash@example.com")
        # SES took the mail, the sender died before the record: the message stays claimed
        [mail] = poll_until(lambda: _sent_mails(stack, message_id))
        # SES's "Email Sent" event (the local SES puts it on the default bus, tagged with tenant and
        # message) is the proof: the mail is settled from it, redeliveries in between send nothing
        assert poll_until(lambda: stored_message(stack, tenant, message_id).get("status") == "sent"), stored_message(
            stack, tenant, message_id
        )
        sent = settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
        assert crash.fired  # the sender did die at its SES call

    assert len(_sent_mails(stack, message_id)) == 1
    record = stored_message(stack, tenant, message_id)
    assert record["ses_message_id"] == mail["id"]
    assert record["attempts"] == 1
    assert [e["data"]["message_id"] for e in sent] == [message_id]
    assert admin.get(f"/email/messages/{message_id}").json()["status"] == "sent"


def test_a_crash_between_claim_and_send_sends_once_after_the_window(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    with crashing_sender(stack, "before", proof_window="2") as crash:
        message_id = _request(stack, tenant, "claimed@example.com")
        assert poll_until(lambda: stored_message(stack, tenant, message_id).get("status") == "sending")
        assert _sent_mails(stack, message_id) == []  # died before SES
        # no proof comes: once the claim is older than the window a redelivery sends it
        assert poll_until(lambda: stored_message(stack, tenant, message_id).get("status") == "sent", timeout=120)
        sent = settle(stack, lambda: envelopes(stack, tenant, "email.sent"))
        assert crash.fired  # the sender did die at its SES call

    assert len(_sent_mails(stack, message_id)) == 1
    record = stored_message(stack, tenant, message_id)
    assert record["attempts"] == 2
    assert [e["data"]["message_id"] for e in sent] == [message_id]
    # a redelivered queue message now finds the mail sent and sends nothing
    stack.client("sqs").send_message(
        QueueUrl=stack.client("sqs").get_queue_url(QueueName=SEND_QUEUE)["QueueUrl"],
        MessageBody=json.dumps({"tenant_id": tenant, "message_id": message_id}),
    )
    settle(stack, lambda: True)
    assert len(_sent_mails(stack, message_id)) == 1
    assert len(envelopes(stack, tenant, "email.sent")) == 1
