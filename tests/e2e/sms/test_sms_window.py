"""The tenant's sending window through `kontakt dev` (issue 19 item 3): a marketing message sent
while the window is shut waits for its opening (`waiting`, `due_at`), a transactional one goes at
once, and a sweep before the opening leaves it waiting. (The sweep sending the held message at
the opening, moving time with the kernel's clock: tests/integration/test_sms_sender.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import settle
from tests.e2e.sms.test_sms_messages import contact, provider_sent, ready, send, status_of


def sweep(stack: LocalRuntime, moment: datetime) -> None:
    """What the minute schedule puts on the sms jobs queue, for a firing at `moment`."""
    assert stack.stack is not None
    queue = stack.stack.queues["SmsJobsQueue"]
    message = {"job": "sms.sweep", "scheduled_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    stack.client("sqs").send_message(QueueUrl=queue.url, MessageBody=json.dumps(message))
    stack.drain()


def test_a_marketing_message_waits_for_the_window_a_transactional_one_goes_now(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 10)
    now = datetime.now(UTC)
    opening = (now + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    window = {"start": f"{opening:%H:%M}", "end": f"{opening + timedelta(hours=1):%H:%M}", "time_zone": "UTC"}
    assert admin.patch("/sms/settings", json={"window": window}).status_code == 200
    maija = contact(admin, stack, mobile="040 123 4567")
    marketing = settle(stack, lambda: (r := send(admin, maija)).status_code == 201 and r)
    assert marketing, "the SMS service never heard of the contact"
    held_id = marketing.json()["id"]
    otp_id = send(admin, maija, transactional=True).json()["id"]

    assert settle(stack, lambda: status_of(admin, otp_id) in ("sent", "delivered")), status_of(admin, otp_id)
    assert settle(stack, lambda: status_of(admin, held_id) == "waiting"), status_of(admin, held_id)
    held = admin.get(f"/sms/messages/{held_id}").json()
    assert held["due_at"] == opening.isoformat().replace("+00:00", "Z")
    assert provider_sent(stack, tenant) == [otp_id]  # the held one never reached the provider
    balance = admin.get("/sms/balance").json()
    assert (balance["reserved"], balance["charged"]) == (1, 1)  # still reserved for when it goes
    waiting = admin.get("/sms/messages", params={"status": "waiting"}).json()["items"]
    assert [m["id"] for m in waiting] == [held_id]

    sweep(stack, now + timedelta(minutes=1))  # a sweep before the opening leaves it waiting
    assert status_of(admin, held_id) == "waiting"
    assert provider_sent(stack, tenant) == [otp_id]
