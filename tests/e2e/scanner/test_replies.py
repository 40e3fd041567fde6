"""Replies, notes and the change notifications through `kontakt dev` (issue 21 item 6): an agent's
reply reaches the mail capture from the mailbox with the thread's headers and the ticket's tag, the
customer's answer to it lands on the same ticket; notes are never mailed; the requester hears of
status changes and public comments when the tenant has notifications on, never when their mail was
automatic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import sent_mails
from tests.e2e.helpers import drain, envelopes, put_envelope, settle
from tests.e2e.scanner.helpers import await_tickets, mailbox, message, smtp_send, tickets_of


def _sender() -> str:
    return f"maija-{uuid.uuid4().hex[:8]}@example.fi"


def _ticket(
    stack: LocalRuntime, admin: Api, box: dict[str, Any], sender: str, **headers: str
) -> tuple[dict[str, Any], EmailMessage]:
    first = message(box["address"], subject="Tulostin ei toimi", sender=sender)
    for name, value in headers.items():
        first[name.replace("_", "-")] = value
    smtp_send(stack, first)
    [ticket] = await_tickets(stack, admin, box["id"])
    return ticket, first


def _mails_to(stack: LocalRuntime, address: str) -> list[EmailMessage]:
    return [m for mails in sent_mails(stack).values() for m in mails if address in str(m["To"])]


def _articles(admin: Api, ticket_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = admin.get(f"/tickets/{ticket_id}/articles").json()["items"]
    return items


def test_a_reply_is_mailed_from_the_mailbox_and_the_answer_returns_to_the_ticket(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    box = mailbox(admin, address=f"tuki-{uuid.uuid4().hex[:10]}@kontakt.test")  # the stack's sending domain
    sender = _sender()
    colleague = f"kollega-{uuid.uuid4().hex[:8]}@example.fi"
    ticket, first = _ticket(stack, admin, box, sender)
    tag = f"[#TCK-{ticket['number']}]"

    answer = admin.post(f"/tickets/{ticket['id']}/replies", json={"text": "Korjattu, kokeile nyt.", "cc": [colleague]})
    assert answer.status_code == 201, answer.text
    article = answer.json()
    assert article["kind"] == "outbound_mail" and article["internal"] is False
    assert [d["to"] for d in article["delivery"]] == [sender, colleague]
    ours = article["message_id"]
    assert ours == article["delivery"][0]["message_id"]

    [mail] = settle(stack, lambda: _mails_to(stack, sender))
    assert mail["Message-ID"] == ours
    assert box["address"] in str(mail["From"])
    assert str(mail["Subject"]) == f"Re: Tulostin ei toimi {tag}"
    assert mail["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in str(mail["References"])
    assert "Korjattu, kokeile nyt." in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    [copy] = settle(stack, lambda: _mails_to(stack, colleague))
    assert copy["Message-ID"] == article["delivery"][1]["message_id"]
    [replied] = settle(stack, lambda: envelopes(stack, tenant, "ticket.replied"))
    assert replied["data"]["article_id"] == article["id"] and replied["data"]["to"] == [sender, colleague]

    back = message(box["address"], subject="Ei se vieläkään toimi", sender=sender)  # no tag: by Message-ID
    back["In-Reply-To"] = ours
    back["References"] = f"{first['Message-ID']} {ours}"
    smtp_send(stack, back)
    kinds = settle(stack, lambda: (a := _articles(admin, ticket["id"])) and len(a) >= 3 and [x["kind"] for x in a])
    assert kinds == ["inbound_mail", "outbound_mail", "inbound_mail"]


def _delivery(admin: Api, ticket_id: str, article_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = admin.get(f"/tickets/{ticket_id}/articles/{article_id}").json()["delivery"]
    return found


def test_a_replys_article_shows_what_the_email_service_reports(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    box = mailbox(admin, address=f"tuki-{uuid.uuid4().hex[:10]}@kontakt.test")
    sender, bouncing = _sender(), "bounce@simulator.amazonses.com"  # SES's mailbox simulator bounces it (hard)
    ticket, _ = _ticket(stack, admin, box, sender)
    answer = admin.post(f"/tickets/{ticket['id']}/replies", json={"text": "Korjattu", "cc": [bouncing]})
    assert answer.status_code == 201, answer.text
    article = answer.json()
    assert [d["status"] for d in article["delivery"]] == ["queued", "queued"]

    def statuses() -> list[str] | None:
        found = [d["status"] for d in _delivery(admin, ticket["id"], article["id"])]
        return found if "queued" not in found and "sent" not in found else None

    assert settle(stack, statuses, timeout=120) == ["delivered", "bounced"]
    delivered, bounced = _delivery(admin, ticket["id"], article["id"])
    assert delivered["sent_at"] and delivered["at"] >= delivered["sent_at"] and delivered["to"] == sender
    assert bounced["bounce_type"] == "hard" and bounced["at"] and bounced["to"] == bouncing

    shown = admin.get(f"/tickets/{ticket['id']}/articles/{article['id']}").json()
    [bounce] = [e for e in envelopes(stack, tenant, "email.bounced") if e["data"]["request_id"]]
    [sent] = [e for e in envelopes(stack, tenant, "email.sent") if e["data"]["to"] == bouncing]
    assert bounce["data"]["requester"] == "scanner" and sent["data"]["request_id"] == bounce["data"]["request_id"]
    put_envelope(stack, bounce)  # delivered twice
    put_envelope(stack, sent | {"id": str(uuid.uuid4())})  # a late one of another id: a status never goes back
    drain(stack, busy_ok=True)
    assert admin.get(f"/tickets/{ticket['id']}/articles/{article['id']}").json() == shown

    again = admin.post(f"/tickets/{ticket['id']}/replies", json={"text": "Uudestaan", "cc": [bouncing]})
    assert again.status_code == 201, again.text  # the bounce suppressed the address: the email service will not send
    assert settle(stack, lambda: _delivery(admin, ticket["id"], again.json()["id"])[1]["status"] != "queued")
    [suppressed] = [d for d in _delivery(admin, ticket["id"], again.json()["id"]) if d["to"] == bouncing]
    assert suppressed["status"] == "suppressed" and "suppressed" in suppressed["reason"] and suppressed["at"]
    assert [t["id"] for t in tickets_of(admin, box["id"])] == [ticket["id"]]


def test_a_mailbox_the_tenant_cannot_send_from_is_the_reply_to(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)  # support.example.fi: no identity of the stack's
    sender = _sender()
    ticket, _ = _ticket(stack, admin, box, sender)
    assert admin.post(f"/tickets/{ticket['id']}/replies", json={"text": "Hei"}).status_code == 201
    [mail] = settle(stack, lambda: _mails_to(stack, sender))
    assert box["address"] not in str(mail["From"]) and "kontakt.test" in str(mail["From"])
    assert str(mail["Reply-To"]) == box["address"]


def test_a_reply_sends_the_tickets_own_attachments(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    sender = _sender()
    first = message(box["address"], subject="Lasku", sender=sender)
    first.add_attachment(b"%PDF-1.4 lasku", maintype="application", subtype="pdf", filename="lasku.pdf")
    smtp_send(stack, first)
    [ticket] = await_tickets(stack, admin, box["id"])
    [summary] = _articles(admin, ticket["id"])
    [attachment] = admin.get(f"/tickets/{ticket['id']}/articles/{summary['id']}").json()["attachments"]
    body = {"text": "Tässä korjattu", "attachments": [{"article_id": summary["id"], "attachment_id": attachment["id"]}]}
    answer = admin.post(f"/tickets/{ticket['id']}/replies", json=body)
    assert answer.status_code == 201, answer.text
    assert [a["filename"] for a in answer.json()["attachments"]] == ["lasku.pdf"]
    [mail] = settle(stack, lambda: _mails_to(stack, sender))
    [part] = list(mail.iter_attachments())
    assert part.get_filename() == "lasku.pdf" and part.get_content() == b"%PDF-1.4 lasku"


def test_notes_are_never_mailed_and_a_reply_checks_its_input(
    stack: LocalRuntime, api: Api, admin: Api, tenant: str
) -> None:
    box = mailbox(admin)
    sender = _sender()
    ticket, _ = _ticket(stack, admin, box, sender)
    user = api.as_(tenant, "user-1", "user")  # the ticket is admin-1's: out of the user's sight
    assert user.post(f"/tickets/{ticket['id']}/replies", json={"text": "x"}).status_code == 404
    assert user.post(f"/tickets/{ticket['id']}/notes", json={"text": "x"}).status_code == 404
    assert admin.get("/scanner/settings/notifications").json()["enabled"] is False  # off by default
    assert admin.patch(f"/tickets/{ticket['id']}", json={"status": "pending"}).status_code == 200  # no mail: off
    public = admin.post(f"/tickets/{ticket['id']}/notes", json={"text": "Julkinen", "internal": False})
    assert public.status_code == 201 and public.json()["internal"] is False
    note = admin.post(f"/tickets/{ticket['id']}/notes", json={"text": "Soitin asiakkaalle."})
    assert note.status_code == 201, note.text
    assert note.json()["kind"] == "note" and note.json()["internal"] is True
    missing = admin.post(
        f"/tickets/{ticket['id']}/replies",
        json={"text": "x", "attachments": [{"article_id": "a", "attachment_id": "1"}]},
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "attachments.0"
    drain(stack)
    assert _mails_to(stack, sender) == []
    assert [e for e in envelopes(stack, tenant, "email.send_requested") if e["data"]["to"] == sender] == []
    assert admin.get(f"/tickets/{ticket['id']}").json()["article_count"] == 3


def test_the_requester_is_notified_of_status_changes_and_public_comments(
    stack: LocalRuntime, api: Api, admin: Api, tenant: str
) -> None:
    user = api.as_(tenant, "user-1", "user")
    assert user.patch("/scanner/settings/notifications", json={"enabled": True}).status_code == 403
    setting = admin.patch(
        "/scanner/settings/notifications",
        json={"enabled": True, "subject": "Tiketti {number}: {status}", "text": "Tila: {status}\n{comment}"},
    )
    assert setting.status_code == 200, setting.text
    box = mailbox(admin)
    sender = _sender()
    ticket, _ = _ticket(stack, admin, box, sender)
    tag = f"[#TCK-{ticket['number']}]"

    assert admin.patch(f"/tickets/{ticket['id']}", json={"status": "pending"}).status_code == 200
    [mail] = settle(stack, lambda: _mails_to(stack, sender))
    assert str(mail["Subject"]) == f"Tiketti {ticket['number']}: pending {tag}"
    assert "Tila: pending" in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    assert admin.post(f"/tickets/{ticket['id']}/notes", json={"text": "Sisäinen"}).status_code == 201
    public = {"text": "Osa on tilattu.", "internal": False}
    assert admin.post(f"/tickets/{ticket['id']}/notes", json=public).status_code == 201
    mails = settle(stack, lambda: (m := _mails_to(stack, sender)) and len(m) >= 2 and m)
    drain(stack)
    mails = _mails_to(stack, sender)
    assert len(mails) == 2
    bodies = [m.get_body(preferencelist=("plain",)).get_content() for m in mails]  # type: ignore[union-attr]
    assert any("Osa on tilattu." in b for b in bodies) and not any("Sisäinen" in b for b in bodies)


def test_no_notification_answers_an_automatic_mail(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    assert admin.patch("/scanner/settings/notifications", json={"enabled": True}).status_code == 200
    box = mailbox(admin)
    sender = _sender()
    ticket, _ = _ticket(stack, admin, box, sender, Auto_Submitted="auto-replied")
    assert admin.patch(f"/tickets/{ticket['id']}", json={"status": "closed"}).status_code == 200
    [closed] = settle(stack, lambda: envelopes(stack, tenant, "ticket.closed"))
    assert closed["data"]["id"] == ticket["id"]
    drain(stack)
    assert [e for e in envelopes(stack, tenant, "email.send_requested") if e["data"]["to"] == sender] == []


def _scanner_items(stack: LocalRuntime, tenant: str) -> list[dict[str, Any]]:
    """The tenant's items in the scanner table, as stored (an operator's view)."""
    from boto3.dynamodb.types import TypeDeserializer

    found, start = [], None
    while True:
        page = stack.client("dynamodb").scan(
            TableName="kontakt-dev-scanner", **({"ExclusiveStartKey": start} if start else {})
        )
        found += [i for i in page["Items"] if i["pk"]["S"].startswith(f"T#{tenant}#")]
        start = page.get("LastEvaluatedKey")
        if not start:
            return [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in found]


def _erasure_updates(stack: LocalRuntime, tenant: str, ticket_id: str) -> list[dict[str, Any]]:
    """The `ticket.updated` events a contact's erasure published for the ticket."""
    found = envelopes(stack, tenant, "ticket.updated")
    return [e for e in found if e["data"]["id"] == ticket_id and "articles" in e["data"]["changed"]]


def test_erasure_removes_the_person_from_their_tickets(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    sender = _sender()
    contact = admin.post("/contacts", json={"first_name": "Maija", "last_name": "Poistettava", "email": sender})
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()["id"]
    drain(stack)  # the scanner's contacts projection has the contact: the mail links to it
    box = mailbox(admin)
    mail = message(box["address"], subject="Maija Poistettava: lasku", sender=sender, body="Henkilötunnukseni on X.\n")
    mail.add_attachment(b"secret scan", maintype="application", subtype="pdf", filename="passi.pdf")
    smtp_send(stack, mail)
    [ticket] = await_tickets(stack, admin, box["id"])
    assert ticket["requester_contact_id"] == contact_id
    [summary] = _articles(admin, ticket["id"])
    article = admin.get(f"/tickets/{ticket['id']}/articles/{summary['id']}").json()
    assert [a["filename"] for a in article["attachments"]] == ["passi.pdf"]
    assert admin.post(f"/tickets/{ticket['id']}/replies", json={"text": "Kiitos Maija"}).status_code == 201
    s3 = stack.client("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "scanner" in b["Name"] and "mail" in b["Name"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"attachments/{tenant}/").get("Contents", [])]
    assert len(keys) == 1

    erased = {"id": str(uuid.uuid4()), "type": "contact.erased", "version": 1, "tenant_id": tenant}
    for _ in range(2):  # delivered twice: the second finds nothing left to do
        put_envelope(
            stack,
            {
                **erased,
                "occurred_at": datetime.now(UTC).isoformat(),
                "actor": {"type": "service", "id": "directory"},
                "correlation_id": str(uuid.uuid4()),
                "data": {"id": contact_id},
            },
        )
        after = settle(
            stack, lambda: (t := admin.get(f"/tickets/{ticket['id']}").json())["requester_email"] == "" and t
        )
        drain(stack)
    assert after["requester_contact_id"] is None and after["subject"] == "[erased]"
    [updated] = _erasure_updates(stack, tenant, ticket["id"])  # once, however often the erasure came
    assert updated["data"]["ticket"]["requester_email"] == "" and sender not in json.dumps(updated)
    assert updated["data"]["changed"] == ["articles", "requester_contact_id", "requester_email", "subject"]
    kept = ("number", "status", "created_at", "article_count")
    assert {k: after[k] for k in kept} == {k: ticket[k] for k in kept} | {"article_count": 2}
    assert admin.get("/tickets", params={"contact_id": contact_id}).json()["items"] == []
    inbound = admin.get(f"/tickets/{ticket['id']}/articles/{summary['id']}").json()
    assert (inbound["text"], inbound["subject"], inbound["from"], inbound["attachments"]) == (
        "[erased]",
        "[erased]",
        [],
        [],
    )
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"attachments/{tenant}/").get("KeyCount", 0) == 0
    stored = json.dumps(_scanner_items(stack, tenant), default=str)
    assert sender not in stored and "Henkilötunnukseni" not in stored and "Poistettava" not in stored


def test_erasure_reaches_the_tickets_the_person_only_took_part_in(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    requester, copied = _sender(), _sender()
    contact = admin.post("/contacts", json={"first_name": "Kalle", "last_name": "Kopio", "email": copied})
    assert contact.status_code == 201, contact.text
    drain(stack)  # the scanner's contacts projection has the Cc'd person's address
    box = mailbox(admin)
    mail = message(box["address"], subject="Yhteinen asia", sender=requester)
    mail["Cc"] = copied
    smtp_send(stack, mail)
    [ticket] = await_tickets(stack, admin, box["id"])
    assert ticket["requester_email"] == requester and ticket["requester_contact_id"] is None
    answer = message(box["address"], subject="Re: Yhteinen asia", sender=copied, body="Minäkin odotan.\n")
    answer["In-Reply-To"] = mail["Message-ID"]
    smtp_send(stack, answer)  # the Cc'd person writes too: a later correspondent
    assert settle(stack, lambda: admin.get(f"/tickets/{ticket['id']}").json()["article_count"] == 2)
    assert admin.post(f"/tickets/{ticket['id']}/replies", json={"text": "Hoidetaan"}).status_code == 201
    drain(stack)

    def shown() -> str:  # every article as a client reads it
        ids = [a["id"] for a in _articles(admin, ticket["id"])]
        return json.dumps([admin.get(f"/tickets/{ticket['id']}/articles/{i}").json() for i in ids])

    assert copied in shown() and copied in json.dumps(_scanner_items(stack, tenant), default=str)
    erased = {"id": str(uuid.uuid4()), "type": "contact.erased", "version": 1, "tenant_id": tenant}
    for _ in range(2):  # delivered twice: the second finds nothing left to do
        put_envelope(
            stack,
            {
                **erased,
                "occurred_at": datetime.now(UTC).isoformat(),
                "actor": {"type": "service", "id": "directory"},
                "correlation_id": str(uuid.uuid4()),
                "data": {"id": contact.json()["id"]},
            },
        )
        assert settle(stack, lambda: copied not in shown()), shown()
    after = admin.get(f"/tickets/{ticket['id']}").json()
    assert after["requester_email"] == requester and after["subject"] == "Yhteinen asia"  # the requester's stays
    [updated] = settle(stack, lambda: _erasure_updates(stack, tenant, ticket["id"]))  # once, like a requester's
    assert updated["data"]["changed"] == ["articles"] and updated["data"]["ticket"]["version"] == after["version"]
    articles = json.loads(shown())
    assert requester in json.dumps(articles) and len(articles) == 3
    theirs = next(a for a in articles if a["kind"] == "inbound_mail" and a["subject"] == "[erased]")
    assert theirs["text"] == "[erased]" and theirs["from"] == []  # the mail they wrote lost its body
    assert copied not in json.dumps(_scanner_items(stack, tenant), default=str)  # nothing stored keeps the address
