"""Sent mails: the message record's shape and building the MIME mail (pure, no I/O)."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formataddr, formatdate
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shared.types import OUTPUT, has_control_character

MAX_TRANSACTIONAL_ATTACHMENTS = 25 * 1024 * 1024  # bytes in all (seed 002)
# A sent mail's record kind and the tenant setting of its sender (its default registered by
# `services/email/transactional.py`), here so that the sender and feedback read them without
# importing the transactional feature (~30 ms of their cold start).
KIND = "message"
SENDER_SETTING = "email"


class MessageStatus(StrEnum):
    queued = "queued"
    sending = "sending"  # claimed by a sender: sent or not, its record follows (services/email/sending.py)
    sent = "sent"
    failed = "failed"
    suppressed = "suppressed"
    opted_out = "opted_out"
    skipped = "skipped"  # its campaign was cancelled before it went


class AttachmentInfo(BaseModel):
    model_config = OUTPUT

    name: str
    content_type: str
    size: int


class MessageTracking(BaseModel):
    model_config = OUTPUT

    opens: bool = True
    clicks: bool = True


class Message(BaseModel):
    """One mail to one recipient, as the contact's history shows it."""

    model_config = OUTPUT

    id: str
    to: str
    contact_id: str | None = None
    account_id: str | None = None
    subject: str | None = None
    list_type_id: str | None = None
    status: MessageStatus
    request_id: str | None = None
    requester: str | None = None
    campaign_id: str | None = None
    template_id: str | None = Field(None, description="The template the mail was made from")
    sent_by: str | None = Field(None, description="The user whose send it is (a campaign's sender)")
    message_id_header: str = Field(description="The mail's Message-ID header, for threading replies")
    created_at: datetime
    sent_at: datetime | None = None
    ses_message_id: str | None = None
    error: str | None = None
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    tracking: MessageTracking | None = Field(None, description="Whether opens and clicks are tracked (campaign mails)")
    delivery: str | None = Field(None, description="What the provider last reported (delivered, bounced, ...)")
    delivered_at: datetime | None = None
    opened_at: datetime | None = Field(None, description="The first open")
    clicked_at: datetime | None = Field(None, description="The first click")
    bounced_at: datetime | None = None
    complained_at: datetime | None = None
    rejected_at: datetime | None = Field(None, description="When SES reported it did not send the mail after all")
    delayed_at: datetime | None = Field(None, description="The first delivery delay SES reported (it keeps trying)")
    unsubscribed_at: datetime | None = None
    erased_at: datetime | None = Field(
        None, description="When the recipient's data was erased (GDPR): no address, content or contact since"
    )
    version: int | None = None


class MessageFilter(BaseModel):
    """What `GET /email/messages` lists: a contact's mails or the tenant's, newest first."""

    contact_id: str | None = None
    status: MessageStatus | None = None
    campaign_id: str | None = None
    template_id: str | None = None
    since: datetime | None = Field(None, description="Created at or after (inclusive)")
    until: datetime | None = Field(None, description="Created before (exclusive)")


class Sender(BaseModel):
    """The tenant's sending identity (tenant setting "email"; its default From is on the stack's sending domain)."""

    from_address: str
    from_name: str | None = None
    reply_to: list[str] = Field(default_factory=list)


class Part(BaseModel):
    """An attachment's bytes, read from S3 by the sender."""

    name: str
    content_type: str = "application/octet-stream"
    content: bytes


class Mail(BaseModel):
    """Everything that goes into one MIME mail."""

    message_id: str
    to: str
    to_name: str | None = None
    subject: str
    html: str | None = None
    text: str | None = None
    reply_to: list[str] = Field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers (List-Unsubscribe ...)")
    attachments: list[Part] = Field(default_factory=list)
    date: datetime | None = None


def normalise(address: str) -> str:
    return address.strip().lower()


def message_id_header(message_id: str) -> str:
    return f"<{message_id}@kontakt>"


def _bracketed(message_id: str) -> str:
    value = message_id.strip()
    return value if value.startswith("<") else f"<{value}>"


def attachments_too_large(sizes: list[int], limit: int = MAX_TRANSACTIONAL_ATTACHMENTS) -> bool:
    return sum(sizes) > limit


class Unbuildable(ValueError):
    """The mail cannot be built from what is stored (a header field holding a line break ...): it
    never will be, so the sender fails that recipient with this reason instead of retrying."""


def _header_fields(mail: Mail, sender: Sender) -> dict[str, list[str]]:
    return {
        "The From name": [sender.from_name or ""],
        "The From address": [sender.from_address],
        "The recipient's name": [mail.to_name or ""],
        "The recipient's address": [mail.to],
        "The subject": [mail.subject],
        "The Reply-To": [*mail.reply_to, *sender.reply_to],
        "The In-Reply-To": [mail.in_reply_to or ""],
        "The References": list(mail.references),
        "A header": [f"{name}{value}" for name, value in mail.headers.items()],
    }


def unbuildable(mail: Mail, sender: Sender) -> str | None:
    """Why the mail's headers cannot be written, or None (what `build_mime` would refuse)."""
    for label, values in _header_fields(mail, sender).items():
        if any(has_control_character(value) for value in values):
            return f"{label} contains a line break or another control character: the mail cannot be built."
    return None


def build_mime(mail: Mail, sender: Sender) -> EmailMessage:
    """The mail as MIME: text and HTML alternatives, then attachments, with threading headers.

    `Unbuildable` when a header field holds a control character, or the email package refuses a
    header (a stored value that would break the mail's header section)."""
    reason = unbuildable(mail, sender)
    if reason is not None:
        raise Unbuildable(reason)
    try:
        return _build(mail, sender)
    except (ValueError, TypeError, LookupError, MessageError) as exc:
        raise Unbuildable(f"The mail cannot be built: {exc}") from exc


MAX_LINE = 998  # RFC 5322 2.1.1: a line's limit, CRLF excluded
ITEM_BOUNDARY = re.compile(r"(?<=>,)([ \t]+)")  # between the `<...>` items of a list (RFC 2369)
WORD_BOUNDARY = re.compile(r"([ \t]+)")
ENCODED_BYTES = 39  # UTF-8 bytes an encoded word holds: 52 base64 characters, 64 with its frame (RFC 2047: 75)


class WirePolicy(EmailPolicy):
    """The policy a mail is written with: an ASCII header value goes as it is, never RFC 2047-encoded.

    The stdlib's default policy encodes a header as `=?utf-8?q?...?=` words when a token of it is
    longer than a line (78): `List-Unsubscribe`'s URL always is, and mailbox providers, which read
    the raw header for RFC 8058's one-click, then see no `<https://...>`. Here an ASCII value is
    folded only at its whitespace, between its `<...>` items when it has them (`List-Unsubscribe`,
    RFC 2369), else between words, lines kept under 78 where the items allow and never past 998;
    a value with non-ASCII text still becomes encoded words, as it must: an unstructured one (a
    subject) as whole words of its own (`_encoded_words`: the stdlib's folder drops the space between
    two words it splits there), an address's name by the stdlib."""

    def fold(self, name: str, value: Any) -> str:
        folded = _fold_ascii(name, value, self)
        return folded if folded is not None else super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        folded = _fold_ascii(name, value, self)
        return folded.encode("ascii") if folded is not None else super().fold_binary(name, value)


def _encoded_words(name: str, text: str, linesep: str) -> str:
    """An unstructured value as RFC 2047 base64 words of whole characters, one a line: the space
    between encoded words is not part of the text, so every character of it, spaces too, is inside one."""
    words: list[str] = []
    chunk = ""
    for char in text:
        if len((chunk + char).encode()) > ENCODED_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    encoded = [f"=?utf-8?b?{base64.b64encode(word.encode()).decode()}?=" for word in words]
    return f"{name}: " + f"{linesep} ".join(encoded) + linesep


WIRE = WirePolicy()


def _fold_ascii(name: str, value: Any, policy: EmailPolicy) -> str | None:
    """`name: value` folded at whitespace (items first); None for a value that is not one plain ASCII line."""
    text = str(value)
    if has_control_character(text):
        return None
    if not text.isascii():
        return _encoded_words(name, text, policy.linesep) if isinstance(value, UnstructuredHeader) else None
    if text != text.strip():
        return None
    soft = policy.max_line_length or MAX_LINE
    for boundary in (ITEM_BOUNDARY, WORD_BOUNDARY):
        pieces = boundary.split(text)  # [piece, space, piece, space, ...]
        if boundary is ITEM_BOUNDARY and len(pieces) == 1 and len(name) + 2 + len(text) > soft:
            continue  # no items: fold between words
        lines = [f"{name}: {pieces[0]}"]
        for space, piece in zip(pieces[1::2], pieces[2::2], strict=True):
            if len(lines[-1]) + len(space) + len(piece) <= soft:
                lines[-1] += space + piece
            else:
                lines.append(space + piece)  # folding: the line break goes before whitespace
        if all(len(line) <= MAX_LINE for line in lines):
            return policy.linesep.join(lines) + policy.linesep
    raise ValueError(f"the {name} header has a word longer than a line ({MAX_LINE} characters)")


def _build(mail: Mail, sender: Sender) -> EmailMessage:
    mime = EmailMessage(policy=WIRE)
    mime["From"] = formataddr((sender.from_name or "", sender.from_address))
    mime["To"] = formataddr((mail.to_name or "", mail.to))
    mime["Subject"] = mail.subject
    mime["Message-ID"] = message_id_header(mail.message_id)
    if mail.date is not None:
        mime["Date"] = formatdate(mail.date.timestamp(), usegmt=True)
    reply_to = mail.reply_to or sender.reply_to
    if reply_to:
        mime["Reply-To"] = ", ".join(reply_to)
    if mail.in_reply_to:
        mime["In-Reply-To"] = _bracketed(mail.in_reply_to)
    references = [_bracketed(r) for r in mail.references]
    if mail.in_reply_to and _bracketed(mail.in_reply_to) not in references:
        references.append(_bracketed(mail.in_reply_to))  # RFC 5322: References ends with the parent
    if references:
        mime["References"] = " ".join(references)
    for name, value in mail.headers.items():
        mime[name] = value
    # Quoted-printable keeps the raw mail 7-bit, as SES asks of content outside ASCII.
    mime.set_content(mail.text if mail.text is not None else "", cte="quoted-printable")
    if mail.html is not None:
        mime.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    for part in mail.attachments:
        maintype, _, subtype = part.content_type.partition("/")
        mime.add_attachment(
            part.content, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=part.name
        )
    return mime


# GDPR erasure (services/email/erasure.py): what a message keeps once its person is erased.
ERASED_FIELDS = {"to": "", "to_name": None, "subject": None, "html": None, "text": None, "error": None}
DROPPED_FIELDS = ("links", "attachments", "data")
REPORT_KEEPS = ("kind", "at", "bounce_type")  # a feedback report without the person
RECORD_KEEPS = (*REPORT_KEEPS, "message_id")


def erased_message(data: dict[str, Any], at: str) -> dict[str, Any]:
    """A message's data without the person (statuses, times, campaign and counts kept)."""
    kept = {k: v for k, v in data.items() if k not in DROPPED_FIELDS}
    history = [{k: r[k] for k in REPORT_KEEPS if k in r} for r in data.get("feedback", [])]
    return {**kept, **ERASED_FIELDS, "contact_id": None, "feedback": history, "erased_at": at}
