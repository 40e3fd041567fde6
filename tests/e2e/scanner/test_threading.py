"""Threading through `kontakt dev` (issue 21 item 5): a reply lands on its ticket by a Message-ID
the ticket knows or by the ticket's tag from one of its participants; a person's reply reopens a
solved or closed ticket, an auto-reply does not; anything else opens a new ticket."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import envelopes, settle
from tests.e2e.scanner.helpers import await_tickets, mailbox, message, post_raw, smtp_send, tickets_of


def _reply(
    to: dict[str, Any], original: EmailMessage, sender: str = "maija@example.fi", **headers: str
) -> EmailMessage:
    reply = message(to["address"], subject=f"Re: {original['Subject']}", sender=sender, body="Kiitos, nyt toimii.\n")
    reply["In-Reply-To"] = original["Message-ID"]
    reply["References"] = original["Message-ID"]
    for name, value in headers.items():
        reply[name.replace("_", "-")] = value
    return reply


def _articles(admin: Api, ticket_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get(f"/tickets/{ticket_id}/articles").json()["items"]
    return items


def _count(stack: LocalRuntime, admin: Api, ticket_id: str, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = settle(stack, lambda: (a := _articles(admin, ticket_id)) and len(a) >= n and a)
    assert found and len(found) == n, found
    return found


def test_a_reply_lands_on_its_ticket_and_reopens_it(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    box = mailbox(admin)
    first = message(box["address"], subject="Tulostin")
    smtp_send(stack, first)
    [ticket] = await_tickets(stack, admin, box["id"])
    assert admin.patch(f"/tickets/{ticket['id']}", json={"status": "solved"}).status_code == 200

    smtp_send(stack, _reply(box, first))
    articles = _count(stack, admin, ticket["id"], 2)
    assert [a["subject"] for a in articles] == ["Tulostin", "Re: Tulostin"]
    assert [t["id"] for t in tickets_of(admin, box["id"])] == [ticket["id"]]
    after = admin.get(f"/tickets/{ticket['id']}").json()
    assert after["status"] == "open" and after["article_count"] == 2
    updates = settle(
        stack,
        lambda: [e for e in envelopes(stack, tenant, "ticket.updated") if "article_count" in e["data"]["changed"]],
    )
    assert [e["data"]["changed"] for e in updates] == [["article_count", "status"]]


def test_an_auto_reply_lands_on_its_ticket_without_reopening_it(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    first = message(box["address"], subject="Lomalla?")
    smtp_send(stack, first)
    [ticket] = await_tickets(stack, admin, box["id"])
    assert admin.patch(f"/tickets/{ticket['id']}", json={"status": "closed"}).status_code == 200
    smtp_send(stack, _reply(box, first, Auto_Submitted="auto-replied"))
    _count(stack, admin, ticket["id"], 2)
    assert admin.get(f"/tickets/{ticket['id']}").json()["status"] == "closed"


def test_the_ticket_tag_threads_mail_from_a_participant_only(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    first = message(box["address"], subject="Lasku 77")
    first["Cc"] = "kollega@example.fi"
    smtp_send(stack, first)
    [ticket] = await_tickets(stack, admin, box["id"])
    tag = f"[#TCK-{ticket['number']}]"

    smtp_send(stack, message(box["address"], subject=f"Lisätietoa {tag}", sender="kollega@example.fi"))
    _count(stack, admin, ticket["id"], 2)
    smtp_send(stack, message(box["address"], subject=f"Kaappaus {tag}", sender="stranger@example.org"))
    tickets = await_tickets(stack, admin, box["id"], 2)
    assert len(tickets) == 2 and tickets[1]["subject"] == f"Kaappaus {tag}"
    assert len(_articles(admin, ticket["id"])) == 2


def test_mail_naming_no_known_message_opens_a_new_ticket(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    first = message(box["address"], subject="Eka")
    smtp_send(stack, first)
    await_tickets(stack, admin, box["id"])
    unrelated = message(box["address"], subject="Re: jotain muuta")
    unrelated["In-Reply-To"] = "<unknown-123@example.fi>"
    smtp_send(stack, unrelated)
    assert len(await_tickets(stack, admin, box["id"], 2)) == 2


def _bounce(to: str, original_id: str) -> bytes:
    """A delivery status notification (RFC 3464) for the mail `original_id`."""
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: {to}\r\nSubject: Undelivered Mail\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original_id}\r\nSubject: x\r\n\r\n--b1--\r\n"
    ).encode()


def test_a_bounce_is_recorded_on_its_ticket_and_never_opens_one(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    first = message(box["address"], subject="Palautuu")
    smtp_send(stack, first)
    [ticket] = await_tickets(stack, admin, box["id"])
    assert admin.patch(f"/tickets/{ticket['id']}", json={"status": "solved"}).status_code == 200
    assert post_raw(admin, box["id"], _bounce(box["address"], first["Message-ID"])).status_code == 202
    _count(stack, admin, ticket["id"], 2)
    assert admin.get(f"/tickets/{ticket['id']}").json()["status"] == "solved"  # not reopened
    assert post_raw(admin, box["id"], _bounce(box["address"], "<unknown-9@example.fi>")).status_code == 202
    settle(stack, lambda: True)
    assert [t["id"] for t in tickets_of(admin, box["id"])] == [ticket["id"]]
