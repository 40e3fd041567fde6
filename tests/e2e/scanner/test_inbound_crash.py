"""The inbound function killed between its steps opens one ticket, with its attachment (issue 21 item 1,
"a message is processed once whatever is redelivered"; the service-done list's crash test).

The runtime kills the inbound function's process (infra/faults.py, nothing in its code) once before
its ticket transaction, the attachments in S3 already. The inbound queue redelivers (its visibility
timeout cut to a second here, its redrive lifted): one ticket, one article with the attachment, one
`ticket.created`, one attachment object. (A redelivery after the ticket committed finds the dedupe
item: test_inbound.py::test_a_redelivered_notification_makes_one_ticket.)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
import requests

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import envelopes
from tests.e2e.scanner.helpers import first_article, mailbox, message, smtp_send, tickets_of

pytestmark = pytest.mark.failed_deliveries  # the killed deliveries fail on purpose
INBOUND = "ScannerInboundFunction"
QUEUE = "kontakt-dev-scanner-inbound"
T = TypeVar("T")


@pytest.fixture(scope="module", autouse=True)
def quick_redelivery(stack: LocalRuntime) -> Iterator[None]:
    """A killed delivery comes back in a second, not in the queue's minutes."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
    redrive = {**json.loads(before["Attributes"]["RedrivePolicy"]), "maxReceiveCount": 1000}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)})
    yield
    sqs.set_queue_attributes(QueueUrl=url, Attributes=before["Attributes"])


def _until(ready: Callable[[], T], timeout: float = 90, every: float = 0.2) -> T:
    """Poll without draining: a killed delivery keeps the queue busy until it is done."""
    deadline = time.monotonic() + timeout
    while True:
        result = ready()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def test_an_inbound_function_killed_between_its_steps_opens_one_ticket(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    assert stack.functions is not None and stack.stack is not None
    box = mailbox(admin)
    mail = message(box["address"], subject="Kaatuuko?", sender=f"kaatuja-{uuid.uuid4().hex[:8]}@example.fi")
    mail.add_attachment(b"%PDF-1.4 kaatuu", maintype="application", subtype="pdf", filename="liite.pdf")
    crash = Fault("dynamodb", "TransactWriteItems", "before")  # the attachments stored, the ticket not
    with stack.functions.configured(INBOUND, faults=[crash]) as (armed,):
        smtp_send(stack, mail)
        [ticket] = _until(lambda: tickets_of(admin, box["id"]))
        assert armed.fired
    stack.drain()

    assert [t["id"] for t in tickets_of(admin, box["id"])] == [ticket["id"]]
    created = [e for e in envelopes(stack, tenant, "ticket.created") if e["data"]["id"] == ticket["id"]]
    assert len(created) == 1
    assert admin.get(f"/tickets/{ticket['id']}").json()["article_count"] == 1
    [attachment] = first_article(admin, ticket["id"])["attachments"]
    assert requests.get(attachment["download_url"], timeout=10).content == b"%PDF-1.4 kaatuu"
    bucket = stack.stack.buckets["ScannerMailBucket"].name
    stored = stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"attachments/{tenant}/").get("Contents", [])
    assert len(stored) == 1  # the redeliveries wrote the same object again
