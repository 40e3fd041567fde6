"""Agents' replies and notes on a ticket (issue 21 item 6).

A reply (`POST /tickets/{id}/replies`) is an `outbound_mail` article mailed through the email
service (`email.send_requested`, one request per recipient: the contract carries one address a
mail, so the requester and each Cc get a mail of their own, each with its own Message-ID):
- its Message-ID is known before it is sent (`shared.contracts.messaging.message_id_header`, the
  header the email service writes for the request), and is recorded on the ticket like an inbound
  mail's (threads.stage_message), so the customer's answer naming it in In-Reply-To/References
  lands on the ticket;
- In-Reply-To the ticket's newest mail, References its first and newest ones (at most
  `REFERENCES`), the ticket's tag `[#TCK-n]` in the subject (threading by tag works too);
- From the ticket's mailbox (`from_address`: the email service uses it when the tenant may send
  from it, else its own From with the mailbox as Reply-To: `services/email/transactional.sender_of`);
- attachments: attachments of the ticket's own articles (`{article_id, attachment_id}`), copied
  into the email service's files bucket under `requests/<tenant>/scanner/` (where the email
  service reads requesters' files) at the time of the reply.
The article, its Message-IDs, the ticket's change, the send requests and `ticket.replied` (and
`ticket.closed` when the reply closes it) commit in one transaction.

A note (`POST /tickets/{id}/notes`) is a `note` article, never mailed: internal by default; a
public comment (`internal: false`) is mailed to the requester by the change notifications when the
tenant has them on (notifications.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from services.scanner import mailboxes, notifications, threads, tickets
from services.scanner.deliveries import REPLY_REQUEST
from services.scanner.domain.html import sanitise
from services.scanner.domain.tickets import Article, TicketNoteCreate, TicketReplyCreate
from services.scanner.events import TicketClosed, TicketReplied, TicketUpdated
from services.scanner.service import Caller
from services.scanner.settings import ScannerSettings
from services.scanner.store import Record
from shared import clock
from shared.contracts.messaging import EmailAttachment, EmailSendRequested, message_id_header
from shared.errors import ValidationFailed
from shared.events import changes_of
from shared.ids import new_id
from shared.permissions import Action
from shared.settings import load
from shared.store import UnitOfWork, tenant_key
from shared.types import MAIL_SUBJECT_MAX

REQUESTER = "scanner"  # the requester of the send requests (their Message-IDs derive from it)
REFERENCES = 10  # Message-IDs a reply's References names: the thread's first and its newest
REQUEST_FILES = "requests"  # the email files bucket's prefix for requesters' attachments


@cache
def _s3() -> Any:
    import boto3  # here: only replies with attachments load the S3 client

    return boto3.client("s3")


def thread_ids(tenant: str, ticket_id: str) -> tuple[str | None, list[str]]:
    """The ticket's newest Message-ID (In-Reply-To) and References: its first and newest ones, oldest first."""
    key = tenant_key(tenant, tickets.TICKET.upper(), ticket_id, tickets.ARTICLE.upper())
    newest = [
        str(r.data["message_id"])
        for r in Record.by_parent.query(key, scan_index_forward=False, limit=50)
        if r.data.get("message_id")
    ][:REFERENCES]
    first = [str(r.data["message_id"]) for r in Record.by_parent.query(key, limit=1) if r.data.get("message_id")]
    references = list(dict.fromkeys([*first, *reversed(newest)]))
    if len(references) > REFERENCES:
        references = [references[0], *references[-(REFERENCES - 1) :]]
    return (newest[0] if newest else None), references


def reply_subject(ticket: dict[str, Any]) -> str:
    """`Re: <subject> [#TCK-n]`, one line within the email contract's 500 characters (the tag kept)."""
    subject = " ".join(str(ticket.get("subject") or "").split())
    tag = threads.tag(int(ticket["number"]))
    has_tag = bool(threads.TAG.search(subject))
    prefix = "" if subject.lower().startswith("re:") else "Re: "
    room = MAIL_SUBJECT_MAX - len(prefix) - (0 if has_tag else len(tag) + 1)
    if len(subject) > room:
        subject, has_tag = subject[:room].rstrip(), False
        room = MAIL_SUBJECT_MAX - len(prefix) - len(tag) - 1
        subject = subject[:room].rstrip()
    return prefix + " ".join(part for part in (subject, "" if has_tag else tag) if part)


def _attachments(caller: Caller, ticket_id: str, article_id: str, body: TicketReplyCreate) -> list[dict[str, Any]]:
    """The named attachments of the ticket's articles, copied where the email service reads them."""
    found: list[dict[str, Any]] = []
    for n, ref in enumerate(body.attachments):
        article = caller.store.get(caller.tenant, tickets.ARTICLE, ref.article_id)
        held = article.data.get("attachments") or [] if article and article.data.get("ticket_id") == ticket_id else []
        match = next((a for a in held if str(a.get("id")) == ref.attachment_id), None)
        if match is None:
            raise ValidationFailed.on(f"attachments.{n}", "No such attachment on this ticket's articles.", "not_found")
        found.append(match)
    if sum(int(a.get("size") or 0) for a in found) > 25 * 1024 * 1024:
        raise ValidationFailed.on("attachments", "A reply carries at most 25 MB of attachments.", "too_large")
    settings = load(ScannerSettings)
    copied = []
    for n, attachment in enumerate(found, start=1):
        key = f"{REQUEST_FILES}/{caller.tenant}/{REQUESTER}/{article_id}/{n}"
        _s3().copy_object(
            Bucket=settings.email_files_bucket,
            Key=key,
            CopySource={"Bucket": settings.mail_bucket, "Key": attachment["key"]},
            ServerSideEncryption="AES256",
        )
        copied.append({**attachment, "id": str(n), "key": attachment["key"], "sent_key": key})
    return copied


def reply(caller: Caller, ticket_id: str, body: TicketReplyCreate) -> Article:
    record = tickets.record_for(caller, ticket_id, Action.CHANGE)
    data = record.data
    to = str(data.get("requester_email") or "")
    if not to:
        raise ValidationFailed.on("text", "The ticket has no requester address to reply to.", "no_recipient")
    mailbox = caller.store.get(caller.tenant, mailboxes.MAILBOX, str(data.get("mailbox_id") or ""))
    if mailbox is None:
        raise ValidationFailed.on("text", "The ticket's mailbox is gone: there is no address to reply from.", "gone")
    own, name = str(mailbox.data["address"]), " ".join(str(mailbox.data.get("name") or "").split())[:200]
    article_id = new_id()
    attachments = _attachments(caller, ticket_id, article_id, body)
    html = sanitise(body.html).html if body.html else None
    in_reply_to, references = thread_ids(caller.tenant, ticket_id)
    subject = reply_subject(data)
    recipients = list(dict.fromkeys([to.lower(), *(str(c).lower() for c in body.cc)]))
    sends = [(address, f"{REPLY_REQUEST}-{article_id}-{n}") for n, address in enumerate(recipients)]
    files_bucket = load(ScannerSettings).email_files_bucket
    requests = [
        EmailSendRequested(
            request_id=request_id,
            requester=REQUESTER,
            to=address,
            contact_id=data.get("requester_contact_id") if address == to.lower() else None,
            subject=subject,
            text=body.text,
            html=html,
            in_reply_to=in_reply_to,
            references=references,
            from_address=own,
            from_name=name or None,
            attachments=[
                EmailAttachment(
                    bucket=files_bucket,
                    key=a["sent_key"],
                    name=a["filename"],
                    content_type=a["content_type"],
                    size=int(a["size"]),
                )
                for a in attachments
            ],
        )
        for address, request_id in sends
    ]
    message_ids = [message_id_header(REQUESTER, request_id) for _, request_id in sends]
    article = {
        "kind": "outbound_mail",
        "internal": False,
        "author_id": caller.user_id,
        "message_id": message_ids[0],
        "from": [{"name": name, "email": own}],
        "to": [{"name": "", "email": to}],
        "cc": [{"name": "", "email": c} for c in recipients[1:]],
        "subject": subject,
        "text": body.text,
        "new_text": body.text,
        "html": html,
        "attachments": [{k: v for k, v in a.items() if k != "sent_key"} for a in attachments],
        "delivery": [
            {"to": a, "message_id": m, "status": "queued"} for a, m in zip(recipients, message_ids, strict=True)
        ],
    }
    changes: dict[str, Any] = {
        "participants": threads.with_participants(list(data.get("participants") or []), recipients, own)
    }
    threads.index_participants(caller.tenant, ticket_id, list(data.get("participants") or []), changes["participants"])
    if body.status is not None:
        changes["status"] = body.status.value

    uow = UnitOfWork()
    shown, _ = stage_article(uow, caller, record, article_id, article, changes)
    for extra in message_ids[1:]:
        threads.stage_message(uow, caller.tenant, extra, ticket_id)
    for request in requests:
        uow.publish(caller.event("email.send_requested", request))
    uow.publish(
        caller.event(
            "ticket.replied",
            TicketReplied(id=ticket_id, ticket=shown, article_id=article_id, to=recipients, message_ids=message_ids),
        )
    )
    uow.commit()  # no change notification: the reply itself is the requester's mail
    return tickets.get_article(caller, ticket_id, article_id)


def add_note(caller: Caller, ticket_id: str, body: TicketNoteCreate) -> Article:
    record = tickets.record_for(caller, ticket_id, Action.CHANGE)
    article_id = new_id()
    article = {
        "kind": "note",
        "internal": body.internal,
        "author_id": caller.user_id,
        "message_id": None,
        "subject": str(record.data.get("subject") or ""),
        "text": body.text,
        "new_text": body.text,
        "attachments": [],
    }
    uow = UnitOfWork()
    shown, _ = stage_article(uow, caller, record, article_id, article, {})
    if not body.internal:
        notifications.stage_comment(uow, caller, record.data, shown, article_id, body.text)
    uow.commit()
    return tickets.get_article(caller, ticket_id, article_id)


def stage_article(
    uow: UnitOfWork, caller: Caller, record: Record, article_id: str, article: dict[str, Any], changes: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """An agent's article on the ticket with the ticket's `changes`, `ticket.updated` (and
    `ticket.closed` when it closes the ticket): the ticket as shown after, and what changed."""
    before = dict(record.data)
    data = before | changes | {"article_count": int(before.get("article_count", 0)) + 1}
    data["updated_at"] = clock.now().isoformat()
    record.data = data
    tickets.index(record, caller.tenant)
    caller.store.replace(uow, record, data)
    tickets.stage_article(uow, caller, record.record_id, article_id, article)
    changed = sorted(
        {"article_count", *(k for k in changes if before.get(k) != changes[k] and k not in tickets.INTERNAL)}
    )
    shown = tickets.after(record.record_id, data, record.version)
    ticket_id = record.record_id
    updated = TicketUpdated(id=ticket_id, ticket=shown, changed=changed)
    uow.publish(caller.event("ticket.updated", updated, changes=changes_of(before, data, changed)))
    if "status" in changed and data.get("status") == "closed":
        uow.publish(caller.event("ticket.closed", TicketClosed(id=ticket_id, ticket=shown)))
    return shown, changed
