"""Inbound mail to tickets: one raw message in the mail bucket, processed once.

Every inbound path writes the raw message into the mail bucket under `inbound/`, and the bucket's
notification queues it for ScannerInboundFunction, which calls `receive`:
- in AWS, the SES receipt rule stores each message under `inbound/ses/` (template.yaml);
- under `kontakt dev`, the loopback SMTP listener (infra/smtp_listener.py) under `inbound/smtp/`,
  with the envelope's recipients as the object's `recipients` metadata;
- `POST /scanner/mailboxes/{id}/raw` under `inbound/api/<tenant>/<mailbox>/` (the key names them).

A mail answering a ticket (threads.py: a Message-ID the ticket knows in In-Reply-To/References,
or its tag in the subject from one of its participants) is added to it as an article, and
reopens it when solved or closed unless the mail is automatic; any other mail opens a ticket,
except a bounce (a delivery status report): it is recorded on the ticket of the mail it answers,
if any, and otherwise dropped.

The mailbox is found by the recipient address: the key's (the API's), else the envelope's (the
listener's metadata), else Delivered-To, X-Original-To, To and Cc in that order; the first address
that is an active mailbox's wins, and the mailbox names the tenant. Mail for no active mailbox is
dropped (logged): the listener accepts every recipient, as SES's rule does for the domain.

A message is processed once per (mailbox, Message-ID or, without one, the SHA-256 of its bytes):
the dedupe item `T#<t>#INBOUND#<mailbox>#<digest>` is put on the condition that it does not exist,
in the transaction that creates the ticket, so a redelivered notification or the same mail sent
again finds it and changes nothing. Attachments are stored first under keys made from that digest
(`attachments/<tenant>/<mailbox>/<digest>/<n>`), so a retry overwrites the same objects.

An oversize message (over 25 MB of files, or a source too large to parse) stores nothing: the
sender gets a note through the email service (`email.send_requested`), unless the message is
automatic (a bounce, an auto-reply: answering those is how mail loops start). A message that
cannot be parsed at all becomes a ticket whose article holds its raw source as an attachment.
"""

from __future__ import annotations

import hashlib
from functools import cache, partial
from typing import Any

from services.scanner import loops, mailboxes, recipients, rules, threads, tickets
from services.scanner.domain import mime
from services.scanner.domain.automatic import classify
from services.scanner.domain.mailboxes import normalised
from services.scanner.domain.rules import Outcome, evaluate, values_of
from services.scanner.service import Caller, service_caller
from services.scanner.store import Record
from shared import batch_scope
from shared.contracts.messaging import EmailSendRequested
from shared.contracts.tickets import NewRequester
from shared.ids import derived_id, new_id
from shared.observability import logger
from shared.store import AlreadyApplied, UnitOfWork, run_with_retries, tenant_key

INBOUND = "inbound/"
API_PREFIX = "inbound/api/"
RECIPIENTS_METADATA = "recipients"  # the envelope's RCPT TO addresses, comma-separated (the dev listener)
HEAD_BYTES = 256 * 1024  # what an oversize message's headers are read from
RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "to", "cc")
# What one article keeps of a mail's bodies (UTF-8 bytes; a DynamoDB item holds 400 KB): a longer
# mail keeps its whole source as an attachment too (`truncated`).
TEXT_BYTES = 96 * 1024
NEW_TEXT_BYTES = 32 * 1024
HTML_BYTES = 160 * 1024
MAX_ADDRESSES = 50  # of To and Cc each, kept on the article
SUBJECT_CHARS = 500
REOPENED = ("solved", "closed")  # a person's reply reopens a ticket in these


@cache
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def receive(bucket: str, key: str) -> str:
    """Process one stored message; what became of it: ticket id, "duplicate", "rejected" or "dropped"."""
    if not key.startswith(INBOUND):
        return "dropped"
    stored = _s3().get_object(Bucket=bucket, Key=key)  # its size and metadata come first: one call
    size = int(stored["ContentLength"])
    envelope = [a for a in (stored.get("Metadata") or {}).get(RECIPIENTS_METADATA, "").split(",") if a.strip()]
    if mime.is_oversize(size):  # only its head is read, for the sender and the subject of the note
        raw = stored["Body"].read(HEAD_BYTES)
        stored["Body"].close()
        parsed = mime.parse(raw).model_copy(update={"oversize": True, "size": size})
    else:
        raw = stored["Body"].read()
        parsed = mime.parse(raw)
    found = _mailbox(key, envelope, parsed)
    if found is None:
        logger.info("inbound mail for no active mailbox: dropped", extra={"key": key})
        return "dropped"
    caller, mailbox = found
    digest = hashlib.sha256((parsed.message_id or "").encode() if parsed.message_id else raw).hexdigest()
    if parsed.oversize:
        return _reject(caller, mailbox, parsed, digest)
    return _open_ticket(caller, mailbox, parsed, raw, digest)


def _mailbox(key: str, envelope: list[str], parsed: mime.ParsedMessage) -> tuple[Caller, Record] | None:
    """The active mailbox the message is for, and a caller of its tenant."""
    if key.startswith(API_PREFIX):
        tenant, mailbox_id = key[len(API_PREFIX) :].split("/", 2)[:2]
        return _active(tenant, mailbox_id)
    for address in [*envelope, *_header_recipients(parsed)]:
        known = normalised(address)
        target = batch_scope.kept(("address", known), partial(mailboxes.find_address, known))
        if target is not None and (found := _active(*target)) is not None:
            return found
    return None


def _header_recipients(parsed: mime.ParsedMessage) -> list[str]:
    found: list[str] = []
    for name in RECIPIENT_HEADERS[:2]:
        found.extend(v.strip().strip("<>") for v in parsed.header_values(name))
    found.extend(a.email for a in [*parsed.to, *parsed.cc])
    return [a for a in dict.fromkeys(a.strip() for a in found) if "@" in a]


def _active(tenant: str, mailbox_id: str) -> tuple[Caller, Record] | None:
    """The tenant's caller and its mailbox, if active: read once per batch (the handler's
    `batch_scope`), as its rules are, so a batch of mails to one mailbox reads them once."""
    caller = batch_scope.kept(("caller", tenant), lambda: service_caller(tenant))
    mailbox = batch_scope.kept(
        ("mailbox", tenant, mailbox_id), lambda: caller.store.get(tenant, mailboxes.MAILBOX, mailbox_id)
    )
    if mailbox is None or not mailbox.data.get("active", True):
        return None
    return caller, mailbox


def _dedupe(uow: UnitOfWork, tenant: str, mailbox_id: str, digest: str, outcome: str) -> None:
    item = Record(pk=tenant_key(tenant, "INBOUND", mailbox_id, digest), sk="INBOUND", kind="inbound")
    item.data = {"outcome": outcome}
    uow.save(item, condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)


def _cut(text: str | None, limit: int) -> tuple[str, bool]:
    if text is None:
        return "", False
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", errors="ignore"), True


def _addresses(found: list[mime.Address]) -> list[dict[str, str]]:
    return [{"name": a.name[:200], "email": a.email[:320]} for a in found[:MAX_ADDRESSES]]


def _open_ticket(caller: Caller, mailbox: Record, parsed: mime.ParsedMessage, raw: bytes, digest: str) -> str:
    tenant, mailbox_id = caller.tenant, mailbox.record_id
    text, cut_text = _cut(parsed.text, TEXT_BYTES)
    new_text, cut_new = _cut(parsed.new_text, NEW_TEXT_BYTES)
    html, cut_html = _cut(parsed.html, HTML_BYTES)
    truncated = cut_text or cut_new or cut_html
    prefix = f"attachments/{tenant}/{mailbox_id}/{digest}"
    files = list(parsed.attachments)
    if truncated and not parsed.unparsable:  # the article cannot hold it all: the source can
        source = mime.Attachment(filename="message.eml", content_type="message/rfc822", size=len(raw), source="raw")
        source.data = raw
        files.append(source)
    attachments = []
    for n, attachment in enumerate(files, start=1):
        stored = f"{prefix}/{n}"
        _s3().put_object(
            Bucket=tickets.bucket(),
            Key=stored,
            Body=attachment.data or b"",
            ContentType=attachment.content_type or "application/octet-stream",
            ServerSideEncryption="AES256",
        )
        attachments.append(
            {
                "id": str(n),
                "filename": (attachment.filename or f"attachment-{n}")[:255],
                "content_type": attachment.content_type or "application/octet-stream",
                "size": attachment.size,
                "inline": attachment.inline,
                "content_id": attachment.content_id,
                "key": stored,
            }
        )
    sender = parsed.from_address
    subject = " ".join(parsed.subject.split())[:SUBJECT_CHARS]
    article = {
        "kind": "inbound_mail",
        "message_id": parsed.message_id,
        "from": _addresses(parsed.from_),
        "to": _addresses(parsed.to),
        "cc": _addresses(parsed.cc),
        "subject": subject,
        "text": text,
        "new_text": new_text,
        "html": html or None,
        "truncated": truncated,
        "unparsable": parsed.unparsable,
        "attachments": attachments,
        "automatic": loops.automatic_reasons(parsed, str(mailbox.data["address"])),
    }
    own = str(mailbox.data["address"])
    addresses = [a.email for a in [*parsed.from_, *parsed.to, *parsed.cc]]
    contact_id = recipients.by_email(tenant, sender)
    ticket: dict[str, Any] = {
        "subject": subject or "(no subject)",
        "status": "new",
        "priority": "normal",
        "owner": dict(mailbox.data["owner"]),
        "mailbox_id": mailbox_id,
        "requester_email": sender[:320],
        "requester_contact_id": contact_id,
        "requester_account_id": recipients.account_of(tenant, contact_id),
        "participants": threads.with_participants([], addresses, own),
    }
    automatic = classify(parsed, our_addresses=[own])
    person, bounce = not automatic, automatic.bounce
    ticket["last_inbound_automatic"] = not person  # no automatic mail answers it (notifications.py)
    decided: list[Outcome] = []

    def ruled() -> Outcome:  # the mailbox's rules, read once and only for a mail that opens a ticket
        if not decided:
            ordered = batch_scope.kept(
                ("rules", caller.tenant, mailbox_id), lambda: rules.for_mailbox(caller, mailbox_id)
            )
            decided.append(evaluate(ordered, values_of(parsed, text)))
            if decided[0].timed_out:
                logger.warning("scanner rules cut off", extra={"rules": decided[0].timed_out, "mailbox_id": mailbox_id})
        return decided[0]

    def run() -> str:
        article_id = new_id()
        uow = UnitOfWork()
        answered = threads.find(caller, parsed, bounce.original_message_id if bounce else None)
        if answered is None and bounce is not None:  # a bounce never opens a ticket
            _dedupe(uow, tenant, mailbox_id, digest, "bounce")
            uow.commit()
            return "bounce"
        if answered is None:
            outcome = ruled()
            if outcome.skip:  # a rule said no ticket
                _dedupe(uow, tenant, mailbox_id, digest, "skipped")
                uow.commit()
                return "skipped"
            ticket_id = new_id()
            _dedupe(uow, tenant, mailbox_id, digest, ticket_id)
            opened, new_contact = _ruled_ticket(tenant, ticket, outcome, parsed)
            threads.index_participants(tenant, ticket_id, [], [*opened["participants"], sender.lower()])
            record = tickets.stage_new_ticket(uow, caller, ticket_id, opened, article_id, article, new_contact)
            if person and not article["automatic"]:
                _auto_reply(uow, caller, mailbox, parsed, record, digest)
        else:
            ticket_id = answered.record_id
            _dedupe(uow, tenant, mailbox_id, digest, ticket_id)
            held = list(answered.data.get("participants") or [])
            changes: dict[str, Any] = {"participants": threads.with_participants(held, addresses, own)}
            threads.index_participants(tenant, ticket_id, held, changes["participants"])
            changes["last_inbound_automatic"] = not person
            if person and answered.data.get("status") in REOPENED:
                changes["status"] = "open"
            tickets.stage_reply(uow, caller, answered, article_id, article, changes)
        uow.commit()
        return ticket_id

    try:
        ticket_id = str(run_with_retries(run))
    except AlreadyApplied:
        logger.info("inbound mail already processed", extra={"mailbox_id": mailbox_id, "digest": digest})
        return "duplicate"
    logger.info(
        "inbound mail on a ticket", extra={"ticket_id": ticket_id, "mailbox_id": mailbox_id, "tenant_id": tenant}
    )
    return ticket_id


def _ruled_ticket(
    tenant: str, ticket: dict[str, Any], outcome: Outcome, parsed: mime.ParsedMessage
) -> tuple[dict[str, Any], NewRequester | None]:
    """The new ticket with what the rules set, and the contact to ask the directory for, if any."""
    opened = ticket | outcome.changes
    if outcome.tags:
        opened["tags"] = outcome.tags
    sender = str(ticket["requester_email"])
    if not outcome.create_contact or opened.get("requester_contact_id") or not sender:
        return opened, None
    contact_id = derived_id(tenant, "requester", sender)  # one contact per address, however many mails
    from shared.merges import survivor_of  # here: only a rule that creates contacts needs it

    merged_into = survivor_of(recipients.PROJECTION.store, tenant, "contact", contact_id)
    if merged_into:  # that contact was merged since: the mail is the survivor's, nothing to create
        return opened | {"requester_contact_id": merged_into}, None
    name = " ".join(
        "".join(c if c.isprintable() else " " for c in (parsed.from_[0].name if parsed.from_ else "")).split()
    )
    first, _, last = name.rpartition(" ") if " " in name else ("", "", name or sender.partition("@")[0])
    owner = opened["owner"]
    new_contact = NewRequester(
        contact_id=contact_id,
        email=sender,
        first_name=first[:100] or None,
        last_name=last[:100] or None,
        owner_type=owner["type"],
        owner_id=owner["id"],
    )
    return opened | {"requester_contact_id": contact_id}, new_contact


def _auto_reply(
    uow: UnitOfWork, caller: Caller, mailbox: Record, parsed: mime.ParsedMessage, ticket: Record, digest: str
) -> None:
    """The mailbox's acknowledgement of a person's mail that opened a ticket (loops.py's checks)."""
    setting = mailbox.data.get("auto_reply") or {}
    if not setting.get("enabled"):
        return
    request_id = f"scanner-autoreply-{mailbox.record_id}-{digest}"
    staged = loops.stage_automatic_mail(
        uow,
        caller,
        mailbox=mailbox,
        to=parsed.from_address,
        subject=f"{setting.get('subject') or ''} {threads.tag(int(ticket.data['number']))}",
        text=str(setting.get("body") or ""),
        request_id=request_id,
        in_reply_to=parsed.message_id,
        references=[*parsed.references, *([parsed.message_id] if parsed.message_id else [])][-20:],
        contact_id=ticket.data.get("requester_contact_id"),
    )
    if staged:  # an answer to the acknowledgement lands on the ticket by its Message-ID too
        threads.stage_message(uow, caller.tenant, f"<{derived_id('scanner', request_id)}@kontakt>", ticket.record_id)


def _reject(caller: Caller, mailbox: Record, parsed: mime.ParsedMessage, digest: str) -> str:
    """Store nothing of an oversize message; tell a person who sent it (never a machine)."""
    tenant, mailbox_id = caller.tenant, mailbox.record_id
    address = str(mailbox.data["address"])
    sender = parsed.from_address
    automatic = classify(parsed, our_addresses=[address])
    uow = UnitOfWork()
    _dedupe(uow, tenant, mailbox_id, digest, "rejected")
    if sender and not automatic:
        limit = mime.MAX_MESSAGE_BYTES // (1024 * 1024)
        note = EmailSendRequested(
            request_id=f"scanner-oversize-{mailbox_id}-{digest}",
            requester="scanner",
            to=sender,
            subject=f"Not delivered: {parsed.subject}"[:200].replace("\n", " ").replace("\r", " "),
            text=(
                f"Your message to {address} was not delivered: it is larger than the {limit} MB a message "
                "may be, attachments included. Please send the files in smaller parts or as links."
            ),
            in_reply_to=parsed.message_id,
            references=[parsed.message_id] if parsed.message_id else [],
        )
        uow.publish(caller.event("email.send_requested", note))
    try:
        uow.commit()
    except AlreadyApplied:
        return "duplicate"
    logger.info("oversize mail rejected", extra={"mailbox_id": mailbox_id, "size": parsed.size, "noted": bool(sender)})
    return "rejected"
