"""(o) Inbound mail end to end under the local stack (issue 21's figure): from the loopback SMTP
listener's accept (smtplib's `send_message` returning: the message is in the mail bucket) until
the ticket is visible through `GET /tickets`, p50 and p99 over KONTAKT_PERF_SCANNER_MAILS mails
(default 40) sent one after another, after a warm-up mail (every function on the path cold once).

The path: S3 notification -> SQS (the pump's long poll) -> ScannerInboundFunction (parse, store
attachments, one transaction) -> the API's read. The stack runs as `kontakt dev` does (batching
windows as deployed, two workers per function)."""

from __future__ import annotations

import os
import smtplib
import time
import uuid
from email.message import EmailMessage

import pytest
import requests

from infra.runtime import LocalRuntime

from .conftest import FIGURES, percentile

pytestmark = pytest.mark.perf

MAILS = int(os.environ.get("KONTAKT_PERF_SCANNER_MAILS", "40"))
TENANT = "perf-scanner"
POLL = 0.02
TIMEOUT = 120.0


def _mail(to: str, n: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Maija Meikäläinen <maija@example.fi>"
    mail["To"] = to
    mail["Subject"] = f"Perf {n}"
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@example.fi>"
    mail.set_content("Hei,\n\ntulostin ei toimi taaskaan.\n\nMaija\n")
    mail.add_attachment(b"%PDF-1.4 " + b"x" * 20_000, maintype="application", subtype="pdf", filename="lasku.pdf")
    return mail


def test_smtp_accept_to_ticket_visible(runtime: LocalRuntime) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {runtime.token(TENANT, 'perf-admin', 'admin')}"
    address = f"perf-{uuid.uuid4().hex[:8]}@support.example.fi"
    owner = {"type": "user", "id": "perf-admin"}
    created = session.post(
        f"{runtime.api_url}/scanner/mailboxes", json={"address": address, "name": "Perf", "owner": owner}
    )
    assert created.status_code == 201, created.text
    mailbox_id = created.json()["id"]
    smtp = runtime.smtp_address
    assert smtp is not None

    def visible(count: int) -> bool:
        answer = session.get(f"{runtime.api_url}/tickets", params={"mailbox_id": mailbox_id, "limit": 200})
        return answer.status_code == 200 and len(answer.json()["items"]) >= count

    timings: list[float] = []
    with smtplib.SMTP(smtp[0], smtp[1], timeout=30) as client:
        for n in range(MAILS + 1):
            client.send_message(_mail(address, n))
            accepted = time.perf_counter()
            while not visible(n + 1):
                assert time.perf_counter() - accepted < TIMEOUT, f"mail {n} did not become a ticket"
                time.sleep(POLL)
            if n:  # the first one warms the path up
                timings.append(time.perf_counter() - accepted)
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    print(
        f"\nSMTP accept -> ticket visible over {len(timings)} mails: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    FIGURES.add("o. Inbound mail", "SMTP accept -> ticket visible, p50", round(p50 * 1000), "ms")
    FIGURES.add("o. Inbound mail", "SMTP accept -> ticket visible, p99", round(p99 * 1000), "ms")
    assert p50 < 30
