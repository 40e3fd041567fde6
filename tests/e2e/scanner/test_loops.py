"""Loop safety through `kontakt dev` (issue 21 item 7): a mailbox's auto-reply answers a person's
mail that opens a ticket, marked as automatic; never automatic mail; at most 10 a sender in 3
hours; and two Kontakt tenants whose mailboxes auto-reply to each other exchange a bounded number
of mails and stop (each mail the email service sent is routed into the other mailbox through the
local SMTP listener, as the Internet would deliver it)."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from infra.runtime import LocalRuntime
from services.scanner.loops import MAX_AUTOMATIC
from tests.e2e.conftest import Api
from tests.e2e.helpers import new_tenant, settle
from tests.e2e.scanner.helpers import await_tickets, first_article, mailbox, message, post_raw, smtp_send, tickets_of

AUTO_REPLY = {"enabled": True, "subject": "Viesti vastaanotettu", "body": "Kiitos viestistäsi."}


def _auto_box(admin: Api) -> dict[str, Any]:
    """A mailbox that auto-replies, on the stack's sending domain (`kontakt dev`'s is kontakt.test): its
    mail goes From its own address (on another domain it would go from the tenant's, Reply-To it)."""
    box = mailbox(admin, address=f"tuki-{uuid.uuid4().hex[:10]}@kontakt.test")
    answer = admin.patch(f"/scanner/mailboxes/{box['id']}", json={"auto_reply": AUTO_REPLY})
    assert answer.status_code == 200 and answer.json()["auto_reply"]["enabled"], answer.text
    return box


def _sent(stack: LocalRuntime, to: str | None = None) -> dict[Path, EmailMessage]:
    """The mails the email service sent (the runtime's mail folder), those to `to` only if given."""
    assert stack.mail_dir is not None
    found = {}
    for path in sorted(stack.mail_dir.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        if to is None or str(mail["To"]).lower() == to.lower():
            found[path] = mail
    return found


def test_a_person_gets_an_auto_reply_marked_automatic(stack: LocalRuntime, admin: Api) -> None:
    box = _auto_box(admin)
    sender = f"asiakas-{uuid.uuid4().hex[:8]}@example.fi"
    mail = message(box["address"], subject="Apua", sender=sender)
    smtp_send(stack, mail)
    [ticket] = await_tickets(stack, admin, box["id"])
    [reply] = settle(stack, lambda: list(_sent(stack, sender).values()))
    assert reply["From"].addresses[0].addr_spec == box["address"]
    assert reply["Subject"] == f"Viesti vastaanotettu [#TCK-{ticket['number']}]"
    assert (reply["Auto-Submitted"], reply["X-Loop"]) == ("auto-replied", box["address"])
    assert reply["In-Reply-To"] == mail["Message-ID"]
    assert "Kiitos viestistäsi." in reply.get_body(("plain",)).get_content()
    assert first_article(admin, ticket["id"])["automatic"] == []
    # the customer's answer to the acknowledgement lands on the ticket by its Message-ID
    answer = message(box["address"], subject="Re: kuittaus", sender=sender)
    answer["In-Reply-To"] = reply["Message-ID"]
    smtp_send(stack, answer)
    assert settle(stack, lambda: admin.get(f"/tickets/{ticket['id']}").json()["article_count"] == 2)


def test_automatic_mail_is_never_answered(stack: LocalRuntime, admin: Api) -> None:
    box = _auto_box(admin)
    kinds: dict[str, dict[str, str]] = {
        "auto-submitted": {"Auto-Submitted": "auto-replied"},
        "precedence": {"Precedence": "bulk"},
        "x-loop": {"X-Loop": box["address"]},
        "x-autoreply": {"X-Autoreply": "yes"},
        "x-autorespond": {"X-Autorespond": "Out of office"},
        "x-auto-response-suppress": {"X-Auto-Response-Suppress": "All"},
        "list-id": {"List-Id": "<news.example.org>"},
        "list-unsubscribe": {"List-Unsubscribe": "<mailto:leave@example.org>"},
        "system-sender": {},
        "own-message": {},
    }
    senders = {}
    for code, headers in kinds.items():
        local = {"system-sender": "mailer-daemon", "own-message": "kaiku"}.get(code, code)
        sender = f"{local}-{uuid.uuid4().hex[:6]}@example.org" if code != "system-sender" else "no-reply@example.org"
        mail = message(box["address"], subject=f"Automaattinen {code}", sender=sender)
        for name, value in headers.items():
            mail[name] = value
        if code == "own-message":
            mail.replace_header("Message-ID", f"<{uuid.uuid4().hex}@kontakt>")
        senders[code] = sender
        assert post_raw(admin, box["id"], mail.as_bytes()).status_code == 202
    tickets = await_tickets(stack, admin, box["id"], len(kinds))
    assert len(tickets) == len(kinds)  # automatic mail still opens tickets; it is only never answered
    settle(stack, lambda: True)
    for code, sender in senders.items():
        assert _sent(stack, sender) == {}, f"{code}: an automatic mail was answered"
    reasons = {t["subject"]: first_article(admin, t["id"])["automatic"] for t in tickets}
    for code in kinds:
        assert any(r.startswith(code) for r in reasons[f"Automaattinen {code}"]), (code, reasons)


def test_at_most_ten_automatic_mails_a_sender_in_three_hours(stack: LocalRuntime, admin: Api) -> None:
    box = _auto_box(admin)
    sender = f"kiireinen-{uuid.uuid4().hex[:8]}@example.fi"
    for n in range(MAX_AUTOMATIC + 3):
        mail = message(box["address"], subject=f"Viesti {n}", sender=sender)
        assert post_raw(admin, box["id"], mail.as_bytes()).status_code == 202
    await_tickets(stack, admin, box["id"], MAX_AUTOMATIC + 3)
    settle(stack, lambda: len(_sent(stack, sender)) >= MAX_AUTOMATIC)
    settle(stack, lambda: True)
    assert len(_sent(stack, sender)) == MAX_AUTOMATIC


def _relay(stack: LocalRuntime, seen: set[Path], addresses: set[str], strip: bool) -> int:
    """Deliver the mails sent to one of `addresses` since the last call into the SMTP listener;
    `strip`: as a relay that drops the loop headers and writes its own Message-ID. How many."""
    fresh = {p: m for p, m in _sent(stack).items() if p not in seen and str(m["To"]).lower() in addresses}
    seen.update(_sent(stack))
    for mail in fresh.values():
        if strip:
            for name in ("Auto-Submitted", "X-Loop", "X-Auto-Response-Suppress"):
                del mail[name]
            mail.replace_header("Message-ID", f"<{uuid.uuid4().hex}@relay.example.net>")
        smtp_send(stack, mail, rcpt=[str(mail["To"])])
    return len(fresh)


def _ping_pong(stack: LocalRuntime, api: Api, strip: bool) -> tuple[int, list[Any], list[Any]]:
    """Two tenants' auto-replying mailboxes; mailbox B's address writes to A once; every mail sent
    to either address is delivered; the number of mails exchanged once nothing more is sent."""
    first, second = api.as_(new_tenant(), "admin-1", "admin"), api.as_(new_tenant(), "admin-1", "admin")
    a, b = _auto_box(first), _auto_box(second)
    seen = set(_sent(stack))
    opening = message(a["address"], subject="Hei A", sender=b["address"])
    smtp_send(stack, opening)
    await_tickets(stack, first, a["id"])
    exchanged, rounds = 0, 0
    while rounds < 4 * MAX_AUTOMATIC:
        settle(stack, lambda: True)
        delivered = _relay(stack, seen, {a["address"], b["address"]}, strip)
        if not delivered:
            break
        exchanged += delivered
        rounds += 1
    return exchanged, tickets_of(first, a["id"]), tickets_of(second, b["id"])


def test_two_auto_replying_tenants_stop_at_once(stack: LocalRuntime, api: Api) -> None:
    exchanged, of_a, of_b = _ping_pong(stack, api, strip=False)
    print(f"ping-pong with loop headers: {exchanged} mail exchanged before it stopped")
    assert exchanged == 1  # A's acknowledgement; B sees it is automatic and does not answer
    assert len(of_a) == 1 and len(of_b) == 1


def test_two_auto_replying_tenants_stop_even_without_the_loop_headers(stack: LocalRuntime, api: Api) -> None:
    exchanged, _, _ = _ping_pong(stack, api, strip=True)
    print(f"ping-pong without loop headers: {exchanged} mails exchanged before it stopped")
    assert 1 <= exchanged <= 2 * MAX_AUTOMATIC  # bounded: the tag threads or the allowance ends it
