"""Shared steps of the scanner's e2e tests: a mailbox, mail to it, the tickets it opens."""

from __future__ import annotations

import base64
import smtplib
import uuid
from email.message import EmailMessage
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import created, settle


def new_address(label: str = "tuki") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@support.example.fi"


def mailbox(admin: Api, address: str | None = None, owner: dict[str, str] | None = None) -> dict[str, Any]:
    body = {
        "address": address or new_address(),
        "name": "Asiakastuki",
        "owner": owner or {"type": "user", "id": "admin-1"},
    }
    return created(admin.post("/scanner/mailboxes", json=body))


def message(
    to: str,
    subject: str = "Tulostin ei toimi",
    sender: str = "maija@example.fi",
    body: str = "Hei, tulostin ei toimi.\n",
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Maija Meikäläinen <{sender}>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@example.fi>"
    mail.set_content(body)
    return mail


def smtp_send(stack: LocalRuntime, mail: EmailMessage, rcpt: list[str] | None = None) -> None:
    address = stack.smtp_address
    assert address is not None, "kontakt dev runs no SMTP listener"
    with smtplib.SMTP(address[0], address[1], timeout=30) as client:
        client.send_message(mail, to_addrs=rcpt)


def post_raw(admin: Api, mailbox_id: str, raw: bytes) -> Any:
    return admin.post(f"/scanner/mailboxes/{mailbox_id}/raw", json={"raw": base64.b64encode(raw).decode()})


def tickets_of(admin: Api, mailbox_id: str) -> list[dict[str, Any]]:
    answer = admin.get("/tickets", params={"mailbox_id": mailbox_id, "limit": 200})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def await_tickets(stack: LocalRuntime, admin: Api, mailbox_id: str, count: int = 1) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = settle(stack, lambda: (t := tickets_of(admin, mailbox_id)) and len(t) >= count and t)
    assert found and len(found) >= count, f"no {count} ticket(s) for mailbox {mailbox_id}: {found}"
    return found


def first_article(admin: Api, ticket_id: str) -> dict[str, Any]:
    listed = admin.get(f"/tickets/{ticket_id}/articles")
    assert listed.status_code == 200, listed.text
    [summary] = listed.json()["items"]
    answer = admin.get(f"/tickets/{ticket_id}/articles/{summary['id']}")
    assert answer.status_code == 200, answer.text
    article: dict[str, Any] = answer.json()
    return article
