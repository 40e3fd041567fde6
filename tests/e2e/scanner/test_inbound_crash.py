"""The inbound function killed between its steps opens one ticket, with its attachment (issue 21 item 1,
"a message is processed once whatever is redelivered"; the service-done list's crash test).

The runtime kills the inbound function's process (infra/faults.py, nothing in its code) once before
its ticket transaction, the attachments in S3 already. The inbound queue redelivers (its visibility
timeout cut to a second here, its redrive lifted): one ticket, one article with the attachment, one
`ticket.created`, one attachment object. (A redelivery after the ticket committed finds the dedupe
item: test_inbound.py::test_a_redelivered_notification_makes_one_ticket.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import envelopes, poll_until, quick_redelivery
from tests.e2e.scanner.helpers import first_article, mailbox, message, smtp_send, tickets_of

pytestmark = pytest.mark.failed_deliveries  # the killed deliveries fail on purpose
INBOUND = "ScannerInboundFunction"
QUEUE = "kontakt-dev-scanner-inbound"


@pytest.fixture(scope="module", autouse=True)
def _quick_redelivery(stack: LocalRuntime) -> Iterator[None]:
    with quick_redelivery(stack, QUEUE):
        yield


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
        [ticket] = poll_until(lambda: tickets_of(admin, box["id"]))
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
