"""The scanner's inbound path through `kontakt dev` (issue 21 item 1): SMTP to the loopback listener
and `POST /scanner/mailboxes/{id}/raw` both store the mail in the mail bucket, whose notification
the inbound function reads; a message opens one ticket however often it is delivered."""

from __future__ import annotations

import json
import uuid

import requests

from infra.runtime import LocalRuntime
from services.scanner.domain import mime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, envelopes, settle
from tests.e2e.scanner.helpers import (
    await_tickets,
    first_article,
    mailbox,
    message,
    new_address,
    post_raw,
    smtp_send,
    tickets_of,
)


def _bucket(stack: LocalRuntime) -> str:
    assert stack.stack is not None
    return stack.stack.buckets["ScannerMailBucket"].name


def test_mail_sent_over_smtp_becomes_a_ticket(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    box = mailbox(admin)
    mail = message(box["address"], subject="Laskussa virhe")
    mail.add_attachment(b"%PDF-1.4 lasku", maintype="application", subtype="pdf", filename="lasku.pdf")
    smtp_send(stack, mail)

    [ticket] = await_tickets(stack, admin, box["id"])
    assert ticket["subject"] == "Laskussa virhe" and ticket["status"] == "new" and ticket["priority"] == "normal"
    assert ticket["number"] >= 1 and ticket["requester_email"] == "maija@example.fi"
    assert ticket["owner"] == box["owner"] and ticket["mailbox_id"] == box["id"]
    article = first_article(admin, ticket["id"])
    assert article["message_id"] == mail["Message-ID"] and article["from"][0]["email"] == "maija@example.fi"
    assert (
        article["text"].strip() == "Hei, tulostin ei toimi." and article["new_text"].strip() == article["text"].strip()
    )
    [attachment] = article["attachments"]
    assert attachment["filename"] == "lasku.pdf" and attachment["size"] == len(b"%PDF-1.4 lasku")
    download = requests.get(attachment["download_url"], timeout=30)
    assert download.status_code == 200 and download.content == b"%PDF-1.4 lasku"
    assert "attachment" in download.headers["Content-Disposition"]
    created = settle(stack, lambda: envelopes(stack, tenant, "ticket.created"))
    assert [e["data"]["id"] for e in created] == [ticket["id"]]


def test_the_envelope_finds_the_mailbox_when_the_headers_do_not(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    smtp_send(stack, message("someone-else@example.fi", subject="Bcc to support"), rcpt=[box["address"]])
    [ticket] = await_tickets(stack, admin, box["id"])
    assert ticket["subject"] == "Bcc to support"


def test_a_raw_message_posted_becomes_a_ticket_once(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    raw = bytes(message(box["address"], subject="Tilaus 42"))
    accepted = post_raw(admin, box["id"], raw)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["mailbox_id"] == box["id"]
    [ticket] = await_tickets(stack, admin, box["id"])
    assert ticket["subject"] == "Tilaus 42"

    assert post_raw(admin, box["id"], raw).status_code == 202  # the same Message-ID again
    settle(stack, lambda: True)
    assert [t["id"] for t in tickets_of(admin, box["id"])] == [ticket["id"]]


def test_a_redelivered_notification_makes_one_ticket(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    raw = bytes(message(box["address"], subject="Kahdesti"))
    key = f"inbound/ses/{uuid.uuid4().hex}"
    s3, sqs = stack.client("s3"), stack.client("sqs")
    s3.put_object(Bucket=_bucket(stack), Key=key, Body=raw)
    [ticket] = await_tickets(stack, admin, box["id"])
    notification = {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": _bucket(stack)}, "object": {"key": key}}}
        ]
    }
    url = sqs.get_queue_url(QueueName="kontakt-dev-scanner-inbound")["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(notification))
    settle(stack, lambda: True)
    assert [t["id"] for t in tickets_of(admin, box["id"])] == [ticket["id"]]


def test_mail_for_no_active_mailbox_is_dropped(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    assert admin.patch(f"/scanner/mailboxes/{box['id']}", json={"active": False}).status_code == 200
    smtp_send(stack, message(box["address"]))
    smtp_send(stack, message(new_address("nobody")))
    settle(stack, lambda: True)
    assert tickets_of(admin, box["id"]) == []


def test_an_oversize_message_is_refused_with_a_note_and_nothing_stored(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    box = mailbox(admin)
    mail = message(box["address"], subject="Iso liite")
    mail.add_attachment(
        b"\0" * (mime.MAX_MESSAGE_BYTES + 1024), maintype="application", subtype="octet-stream", filename="big.bin"
    )
    smtp_send(stack, mail)
    notes = settle(stack, lambda: envelopes(stack, tenant, "email.send_requested"), timeout=120)
    [note] = notes
    assert note["data"]["to"] == "maija@example.fi" and note["data"]["requester"] == "scanner"
    assert "25 MB" in note["data"]["text"] and note["data"]["in_reply_to"] == mail["Message-ID"]
    assert tickets_of(admin, box["id"]) == []
    listed = stack.client("s3").list_objects_v2(Bucket=_bucket(stack), Prefix=f"attachments/{tenant}/")
    assert listed.get("KeyCount", 0) == 0


def test_raw_needs_an_admin_and_the_tenants_mailbox(api: Api, admin: Api, tenant: str) -> None:
    box = mailbox(admin)
    user = api.as_(tenant, "user-1", "user")
    assert_problem(post_raw(user, box["id"], b"Subject: x\r\n\r\nx"), 403)
    stranger = api.as_("other-" + box["id"].lower()[:12], "admin-1", "admin")
    assert_problem(post_raw(stranger, box["id"], b"Subject: x\r\n\r\nx"), 404)
    assert_problem(admin.post(f"/scanner/mailboxes/{box['id']}/raw", json={"raw": "not base64!"}), 422, "raw")
