"""Any real-world mail parsed into what a ticket needs (pure, never raises): `parse(raw)`.

The MIME work is the standard library's `email` package (BytesParser, `policy.default`; the
compat32 policy where a header or part makes the default one raise). On top of it:
- headers decoded: RFC 2047 encoded words (broken ones too: unknown charsets, bad base64, raw
  8-bit UTF-8), RFC 2231 parameters (`get_filename`, `get_param`);
- the text body and the HTML body (sanitised, `domain/html.py`); an HTML-only mail gets a
  plain-text version; the new text of a reply apart from the quoted history (`domain/replies.py`);
- every other part an attachment, with its name, type, size and Content-ID: inline images keep
  their cid: reference in the HTML, a nested message/rfc822 is an attachment (.eml) whose own
  parse is kept, uuencoded parts and "begin 644" blocks in a text body are decoded, a TNEF
  winmail.dat stays an attachment and the files in it are extracted (tnefparse);
- charsets: every codec Python knows, and a fallback for unknown or wrong labels (`charsets.py`);
- sizes: the files of one message may take MAX_MESSAGE_BYTES in all (25 MB, seed 002); a larger
  message is reported `oversize` and nothing of it is stored (the service answers the sender);
- a message that cannot be parsed at all is `unparsable`, with the raw source as its only
  attachment, so that it still becomes a ticket article.

Attachments' bytes stay on the result (`Attachment.data`) unless `parse` is given a `store`
callback, which is called once per file after the whole message parsed and fits (never for part
of a message) and whose returned reference is kept instead (`Attachment.stored_as`): the service
stores them in S3. A failure of `store` is the caller's, raised as AttachmentStoreError.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from email import policy
from email.header import decode_header
from email.headerregistry import Address as _HeaderAddress
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from pydantic import BaseModel, Field

from services.scanner.domain import charsets
from services.scanner.domain.html import sanitise, to_text
from services.scanner.domain.replies import new_text

MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # the decoded files of one message in all (seed 002: 25 MB)
# The raw source: 25 MB of files base64-encoded with line breaks (~34 MB) and their bodies. A larger
# source is oversize unparsed (only its headers are read, for the answer to the sender).
MAX_RAW_BYTES = 36 * 1024 * 1024
MAX_DEPTH = 8  # nested multiparts and messages followed; deeper parts become attachments whole
MAX_PARTS = 500  # parts of one message; the rest of a mail bomb is kept only in its raw source
MAX_HEADERS = 500

MSG_ID = re.compile(r"<[^<>\s]+>")
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# A uuencoded file inside a text body (Outlook Express and older clients): "begin 644 name" ... "end".
UU_BLOCK = re.compile(r"^begin [0-7]{3,4} ([^\r\n]+)\r?\n(.*?)^end\s*$", re.MULTILINE | re.DOTALL)
TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}


class AttachmentStoreError(Exception):
    """The `store` callback failed: infrastructure, not the message (the caller retries)."""


class Address(BaseModel):
    name: str = ""
    email: str = ""  # as written; may be empty or not an address at all in a broken header

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Header(BaseModel):
    name: str
    value: str  # decoded (RFC 2047), unfolded


class Attachment(BaseModel):
    filename: str
    content_type: str
    size: int  # decoded bytes
    content_id: str | None = None  # without <>, as a cid: URL names it
    inline: bool = False  # Content-Disposition inline (an image shown in the HTML body)
    source: str = "mime"  # mime, uuencode (a begin/end block in a text body), tnef (from a winmail.dat), raw
    sha256: str = ""
    stored_as: str | None = None  # what `store` returned
    data: bytes | None = Field(default=None, exclude=True, repr=False)  # when no `store` was given
    message: ParsedMessage | None = None  # a message/rfc822 attachment, parsed (without its files' bytes)


class Report(BaseModel):
    """A multipart/report (RFC 6522): a delivery status notification or a read receipt."""

    report_type: str  # delivery-status, disposition-notification, feedback-report...
    original_message_id: str | None = None  # the Message-ID of the mail it answers, when given
    original_envelope_id: str | None = None
    recipients: list[dict[str, str]] = Field(default_factory=list)  # Final-Recipient, Action, Status, Diagnostic-Code


class ParsedMessage(BaseModel):
    message_id: str | None = None  # with <>
    in_reply_to: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    from_: list[Address] = Field(default_factory=list, alias="from")
    sender: Address | None = None
    to: list[Address] = Field(default_factory=list)
    cc: list[Address] = Field(default_factory=list)
    reply_to: list[Address] = Field(default_factory=list)
    headers: list[Header] = Field(default_factory=list)
    content_type: str = "text/plain"
    text: str = ""  # the whole text body (made from the HTML when there is only HTML)
    new_text: str = ""  # what this message adds: the text without the quoted history
    html: str | None = None  # sanitised
    blocked_images: list[str] = Field(default_factory=list)  # remote images the HTML would have loaded
    attachments: list[Attachment] = Field(default_factory=list)
    report: Report | None = None
    size: int = 0  # bytes of the raw source
    attachments_size: int = 0  # decoded bytes of the files
    oversize: bool = False
    unparsable: bool = False
    defects: list[str] = Field(default_factory=list)  # what the parser found wrong (for the operator)

    model_config = {"populate_by_name": True}

    def header(self, name: str) -> str | None:
        """The first value of a header, decoded, or None."""
        wanted = name.lower()
        return next((h.value for h in self.headers if h.name.lower() == wanted), None)

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [h.value for h in self.headers if h.name.lower() == wanted]

    @property
    def from_address(self) -> str:
        """The sender's address, lower case ('' when none)."""
        first = self.from_[0].email if self.from_ else (self.sender.email if self.sender else "")
        return first.strip().lower()


Store = Callable[[Attachment, bytes], str]


def is_oversize(raw_size: int) -> bool:
    """A raw source too large to parse (the service can check an object's size before reading it)."""
    return raw_size > MAX_RAW_BYTES


def parse(raw: bytes, store: Store | None = None) -> ParsedMessage:
    """The message, parsed; never raises for what the message holds (only AttachmentStoreError)."""
    if is_oversize(len(raw)):
        return _oversize(raw)
    try:
        parsed = _Parser(keep_data=True).message(raw)
    except Exception:  # anything (RecursionError, MemoryError too): the raw source is kept
        parsed = _unparsable(raw)
    if parsed.attachments_size > MAX_MESSAGE_BYTES:
        return _oversize(raw, parsed)
    if store is not None:
        _store_all(parsed, store)
    return parsed


def _store_all(parsed: ParsedMessage, store: Store) -> None:
    for attachment in parsed.attachments:
        data = attachment.data or b""
        try:
            reference = store(attachment, data)
        except Exception as error:
            raise AttachmentStoreError(f"storing {attachment.filename!r} failed: {error}") from error
        attachment.stored_as = reference
        attachment.data = None


def _oversize(raw: bytes, parsed: ParsedMessage | None = None) -> ParsedMessage:
    """Only what the answer to the sender needs: who, what, which message; no body, no files."""
    if parsed is None:
        try:
            head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][: 256 * 1024]
            parsed = _Parser(keep_data=False).headers_only(head)
        except Exception:
            parsed = ParsedMessage()
    return parsed.model_copy(
        update={
            "text": "",
            "new_text": "",
            "html": None,
            "attachments": [],
            "oversize": True,
            "size": len(raw),
            "attachments_size": parsed.attachments_size,
        }
    )


def _unparsable(raw: bytes) -> ParsedMessage:
    digest = hashlib.sha256(raw).hexdigest()
    source = Attachment(
        filename="message.eml", content_type="message/rfc822", size=len(raw), source="raw", sha256=digest, data=raw
    )
    try:  # whatever of the headers can be read helps the agent
        parsed = _Parser(keep_data=False).headers_only(raw.split(b"\n\n", 1)[0][: 256 * 1024])
    except Exception:
        parsed = ParsedMessage()
    return parsed.model_copy(
        update={"unparsable": True, "attachments": [source], "size": len(raw), "attachments_size": len(raw)}
    )


# ---------------------------------------------------------------- the walk


class _Parser:
    def __init__(self, *, keep_data: bool, depth: int = 0) -> None:
        self.keep_data = keep_data
        self.depth = depth
        self.parts = 0
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.report: Report | None = None

    def _reset(self) -> None:
        self.parts = 0
        self.texts, self.htmls, self.attachments, self.defects = [], [], [], []
        self.report = None

    def message(self, raw: bytes) -> ParsedMessage:
        try:
            msg: Message = BytesParser(policy=policy.default).parsebytes(raw)
            result = self._from_message(msg)
        except Exception:  # the default policy raises on some headers and parts
            self._reset()
            msg = BytesParser(policy=policy.compat32).parsebytes(raw)
            result = self._from_message(msg)
            result.defects.append("parsed with the compat32 policy")
        result.size = len(raw)
        return result

    def headers_only(self, head: bytes) -> ParsedMessage:
        try:
            msg: Message = BytesHeaderParser(policy=policy.default).parsebytes(head)
            return self._envelope(msg)
        except Exception:
            return self._envelope(BytesHeaderParser(policy=policy.compat32).parsebytes(head))

    def _from_message(self, msg: Message) -> ParsedMessage:
        result = self._envelope(msg)
        self._walk(msg, depth=0)
        self._text_from_bodies(result)
        result.attachments = self.attachments
        result.attachments_size = sum(a.size for a in self.attachments)
        result.report = self.report
        result.defects.extend(self.defects)
        result.defects.extend(type(d).__name__ for d in getattr(msg, "defects", []))
        return result

    # ------------------------------------------------------------ headers

    def _envelope(self, msg: Message) -> ParsedMessage:
        hint = _body_charset(msg)
        decoded = [Header(name=str(name), value=value) for name, value in _header_items(msg, hint)]
        content_type = _safe(lambda: msg.get_content_type(), "text/plain")
        return ParsedMessage.model_validate(
            {
                "message_id": _first_id(_header(msg, "message-id")),
                "in_reply_to": _ids(_header(msg, "in-reply-to")),
                "references": _ids(_header(msg, "references")),
                "subject": _one_line(_header(msg, "subject", hint) or ""),
                "date": _date(msg),
                "from": _addresses(msg, "from", hint),
                "sender": next(iter(_addresses(msg, "sender", hint)), None),
                "to": _addresses(msg, "to", hint),
                "cc": _addresses(msg, "cc", hint),
                "reply_to": _addresses(msg, "reply-to", hint),
                "headers": decoded,
                "content_type": content_type,
            }
        )

    # ------------------------------------------------------------ the parts

    def _walk(self, part: Message, *, depth: int) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            if self.parts == MAX_PARTS + 1:
                self.defects.append(f"more than {MAX_PARTS} parts: the rest is only in the raw source")
            return
        ctype = _safe(lambda: part.get_content_type(), "application/octet-stream")
        if ctype in ("message/rfc822", "message/global"):
            self._nested_message(part, ctype)
            return
        if ctype in ("message/delivery-status", "message/global-delivery-status", "message/disposition-notification"):
            self._status_fields(part, ctype)
            return
        if part.is_multipart() and depth >= MAX_DEPTH:  # a mail bomb's nesting: kept whole, not followed
            self.defects.append(f"parts nested deeper than {MAX_DEPTH}: kept as one attachment")
            self._attach(_source(part), filename="parts.eml", content_type=ctype, content_id=None, inline=False)
            return
        if part.is_multipart():
            children = _safe(lambda: list(part.iter_parts()) if hasattr(part, "iter_parts") else part.get_payload(), [])
            if ctype == "multipart/report":
                self.report = Report(report_type=str(part.get_param("report-type") or "").lower())
            if ctype == "multipart/alternative":
                self._alternative(children, depth=depth)
                return
            for child in children if isinstance(children, list) else []:
                if isinstance(child, Message):
                    self._walk(child, depth=depth + 1)
            return
        self._leaf(part, ctype)

    def _alternative(self, children: list[Any], *, depth: int) -> None:
        """Of the versions of one content, the richest of each kind: the last plain text and the last
        HTML (RFC 2046 orders them plainest first); anything else in it is walked as usual."""
        typed = [(c, _ctype(c)) for c in children if isinstance(c, Message)]
        plain = [c for c, ctype in typed if ctype == "text/plain"]
        html = [c for c, ctype in typed if ctype == "text/html"]
        chosen = plain[-1:] + html[-1:]
        others = [c for c, ctype in typed if ctype not in ("text/plain", "text/html")]
        for child in chosen + others:
            self._walk(child, depth=depth + 1)

    def _leaf(self, part: Message, ctype: str) -> None:
        disposition = _safe(lambda: part.get_content_disposition(), None)
        filename = _safe(lambda: part.get_filename(), None)
        # A text without a disposition is shown as the body even when it has a name (as mail clients do).
        is_body = disposition != "attachment" and (not filename or (disposition is None and ctype == "text/plain"))
        if ctype == "text/plain" and is_body:
            text = self._text_of(part)
            self.texts.append(self._uudecode_blocks(text))
            return
        if ctype == "text/html" and is_body:
            self.htmls.append(self._text_of(part))
            return
        if ctype.startswith("multipart/") and is_body:  # a multipart without (valid) boundary: its text
            self.texts.append(self._text_of(part))
            return
        if ctype == "text/rfc822-headers" and self.report is not None:
            self._original_headers(self._text_of(part))
        data = self._bytes_of(part)
        self._attach(
            data,
            filename=_one_line(charsets.fix_surrogates(filename)) if filename else _default_name(ctype),
            content_type=ctype,
            content_id=_content_id(part),
            inline=disposition == "inline",
            source="uuencode" if _cte(part) in ("x-uuencode", "uuencode", "x-uue", "uue") else "mime",
        )
        if ctype in TNEF_TYPES or (filename or "").lower() == "winmail.dat":
            self._tnef(data)

    def _nested_message(self, part: Message, ctype: str) -> None:
        payload = _safe(lambda: part.get_payload(), None)
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            data = _safe(lambda: inner.as_bytes(policy=policy.compat32), b"") or b""
        else:
            data = self._bytes_of(part)
        nested: ParsedMessage | None = None
        if self.depth < 2 and data:  # a forwarded message's own forwarded message: kept, not parsed further
            try:
                nested = _Parser(keep_data=False, depth=self.depth + 1).message(data)
            except Exception:
                nested = None
        if nested is not None and self.report is not None and self.report.original_message_id is None:
            self.report.original_message_id = nested.message_id
        subject = nested.subject if nested and nested.subject else "message"
        filename = _safe(lambda: part.get_filename(), None) or f"{_safe_name(subject)}.eml"
        attachment = self._attach(
            data, filename=filename, content_type=ctype, content_id=_content_id(part), inline=False, source="mime"
        )
        attachment.message = nested

    def _status_fields(self, part: Message, ctype: str) -> None:
        """RFC 3464 fields: per message (Original-Envelope-Id), per recipient (Action, Status...); or
        an RFC 8098 read receipt's (Original-Message-ID). The part is kept as an attachment too."""
        if self.report is None:
            self.report = Report(report_type=ctype.partition("/")[2].replace("global-", ""))
        payload = _safe(lambda: part.get_payload(), None)
        if isinstance(payload, list):
            data = b"\n".join(_source(b) for b in payload if isinstance(b, Message))
        else:
            data = self._bytes_of(part)
        text = charsets.decode(data, None)[0].replace("\r\n", "\n")
        blocks = [HeaderParser(policy=policy.compat32).parsestr(b.strip()) for b in re.split(r"\n\s*\n", text)]
        for block in blocks:
            fields = {str(k).lower(): _one_line(str(v)) for k, v in block.items()}
            if "original-envelope-id" in fields:
                self.report.original_envelope_id = fields["original-envelope-id"]
            for key in ("x-original-message-id", "original-message-id"):
                if key in fields and not self.report.original_message_id:
                    self.report.original_message_id = _first_id(fields[key])
            if "final-recipient" in fields or "action" in fields:
                wanted = ("final-recipient", "original-recipient", "action", "status", "diagnostic-code")
                self.report.recipients.append({k: fields[k] for k in wanted if k in fields})
        name = "read-receipt.txt" if "disposition" in ctype else "delivery-status.txt"
        self._attach(data, filename=name, content_type=ctype, content_id=None, inline=False, source="mime")

    def _original_headers(self, text: str) -> None:
        if self.report is None or self.report.original_message_id:
            return
        headers = HeaderParser(policy=policy.compat32).parsestr(text.lstrip())
        self.report.original_message_id = _first_id(str(headers.get("message-id") or ""))

    def _tnef(self, data: bytes) -> None:
        """The files and body of an Outlook winmail.dat: extracted when it parses, kept whole anyway."""
        try:
            from tnefparse import TNEF  # loaded only for the mails that carry one

            tnef = TNEF(data, do_checksum=False)
        except Exception:  # a broken winmail.dat stays an attachment, that is all
            self.defects.append("winmail.dat did not parse as TNEF")
            return
        for item in tnef.attachments:
            name = _tnef_name(item)
            self._attach(
                bytes(item.data or b""),
                filename=_one_line(str(name).strip("\x00")) or "attachment",
                content_type="application/octet-stream",
                content_id=None,
                inline=False,
                source="tnef",
            )
        body = tnef.body
        html = tnef.htmlbody
        if not self.texts and body:
            self.texts.append(body if isinstance(body, str) else charsets.guess(bytes(body))[0])
        if not self.htmls and html:
            self.htmls.append(html if isinstance(html, str) else charsets.guess(bytes(html))[0])

    def _uudecode_blocks(self, text: str) -> str:
        """Files uuencoded inside a text body become attachments; the text keeps the rest."""
        if "begin " not in text:
            return text
        found = False

        def take(match: re.Match[str]) -> str:
            nonlocal found
            data = _uudecode(match.group(2))
            if data is None:
                return match.group(0)
            found = True
            name = _one_line(match.group(1)) or "attachment"
            self._attach(
                data, filename=name, content_type=_guess_type(name), content_id=None, inline=False, source="uuencode"
            )
            return ""

        stripped = UU_BLOCK.sub(take, text)
        return stripped if found else text

    def _attach(
        self,
        data: bytes,
        *,
        filename: str,
        content_type: str,
        content_id: str | None,
        inline: bool,
        source: str = "mime",
    ) -> Attachment:
        attachment = Attachment(
            filename=_clean_filename(filename),
            content_type=content_type,
            size=len(data),
            content_id=content_id,
            inline=inline,
            source=source,
            sha256=hashlib.sha256(data).hexdigest(),
            data=data if self.keep_data else None,
        )
        self.attachments.append(attachment)
        return attachment

    # ------------------------------------------------------------ content

    def _bytes_of(self, part: Message) -> bytes:
        try:
            data = part.get_payload(decode=True)
        except Exception:  # e.g. a base64 body the decoder refuses
            data = None
        if isinstance(data, bytes):
            return data
        raw = _safe(lambda: part.get_payload(), "")
        if isinstance(raw, str):
            return raw.encode("utf-8", errors="surrogateescape")
        if isinstance(raw, list):  # a multipart too deep to follow: its source
            return _safe(lambda: part.as_bytes(policy=policy.compat32), b"") or b""
        return b""

    def _text_of(self, part: Message) -> str:
        data = self._bytes_of(part)
        label = _safe(lambda: part.get_content_charset(), None)
        text, used = charsets.decode(data, label)
        if label and charsets.codec(label) != used:
            self.defects.append(f"charset {label!r} decoded as {used}")
        return text.replace("\r\n", "\n")

    def _text_from_bodies(self, result: ParsedMessage) -> None:
        text = "\n\n".join(t.strip("\n") for t in self.texts if t.strip())
        if self.htmls:
            clean = sanitise("\n".join(self.htmls))
            result.html = clean.html
            result.blocked_images = clean.blocked
            if not text:
                text = to_text(clean.html)
        result.text = text
        result.new_text = new_text(text)


# ---------------------------------------------------------------- helpers


def _safe(call: Callable[[], Any], default: Any) -> Any:
    try:
        return call()
    except Exception:  # one header or part that the email package chokes on
        return default


def _source(part: Message) -> bytes:
    try:
        return part.as_bytes(policy=policy.compat32)
    except Exception:
        return b""


def _tnef_name(item: Any) -> str:
    for read in (lambda: item.long_filename(), lambda: item.name):
        try:
            name = read()
        except Exception:
            continue
        if isinstance(name, bytes):
            name = charsets.guess(name)[0]
        if name:
            return str(name)
    return "attachment"


def _ctype(part: Message) -> str:
    return str(_safe(lambda: part.get_content_type(), ""))


def _cte(part: Message) -> str:
    return str(_safe(lambda: part.get("content-transfer-encoding", ""), "")).strip().lower()


def _body_charset(msg: Message) -> str | None:
    """The charset a text part of the message declares (other than ASCII or UTF-8), for raw 8-bit
    headers: a sender writes its headers in the charset of its bodies."""
    try:
        for n, part in enumerate(msg.walk()):
            if n > 20:
                break
            label = part.get_content_charset()
            if label and charsets.codec(label) not in (None, "ascii", "utf-8"):
                return str(label)
    except Exception:
        pass
    return None


def _header_items(msg: Message, hint: str | None) -> Iterator[tuple[str, str]]:
    raw = _safe(lambda: msg.raw_items(), None) if hasattr(msg, "raw_items") else None
    items = list(raw) if raw is not None else list(_safe(lambda: msg.items(), []))
    for name, value in items[:MAX_HEADERS]:
        yield str(name), _one_line(_decode_words(str(value), hint))


def _header(msg: Message, name: str, hint: str | None = None) -> str | None:
    """A header's first value, decoded: the default policy's reading, else the raw value decoded here."""
    raw = _raw_header(msg, name)
    try:
        value = msg.get(name)
        if value is None:
            return None
        text = str(value)
        if raw is not None and "=?" in raw:  # each word in its own charset, through the fallback
            decoded = _decode_words(raw, hint)
            if not ENCODED_WORD.search(decoded) or ENCODED_WORD.search(text):
                text = decoded
        elif raw is not None and "\ufffd" in text:  # raw 8-bit bytes, which the policy replaced
            text = charsets.fix_surrogates(raw, hint)
        return charsets.fix_surrogates(text, hint)
    except Exception:
        return None if raw is None else _decode_words(raw, hint)


def _raw_header(msg: Message, name: str) -> str | None:
    items = _safe(lambda: msg.raw_items(), None) if hasattr(msg, "raw_items") else None
    items = items if items is not None else _safe(lambda: msg.items(), [])
    return next((str(v) for k, v in items if str(k).lower() == name), None)


def _decode_words(value: str, hint: str | None = None) -> str:
    """RFC 2047 encoded words decoded by email.header, each in its own charset (unknown or wrong ones
    through the fallback); a value that is not made of valid words stays as written."""
    value = charsets.fix_surrogates(value, hint)
    if "=?" not in value:
        return value
    try:
        pieces = decode_header(value)
    except Exception:  # e.g. broken base64 in a word
        return value
    out = []
    for data, label in pieces:
        if isinstance(data, str):
            out.append(data)
        else:
            out.append(charsets.decode(data, label)[0])
    return "".join(out)


def _one_line(value: str) -> str:
    return re.sub(r"[\r\n\t ]+", " ", value.replace("\x00", "")).strip()


def _ids(value: str | None) -> list[str]:
    return MSG_ID.findall(value or "")[:200]


def _first_id(value: str | None) -> str | None:
    found = _ids(value)
    if found:
        return found[0]
    value = (value or "").strip()
    return f"<{value}>" if value and " " not in value and "@" in value else None


def _date(msg: Message) -> datetime | None:
    header = _safe(lambda: msg.get("date"), None)
    if header is None:
        return None
    when = _safe(lambda: header.datetime, None)
    if when is None:
        when = _safe(lambda: parsedate_to_datetime(str(header)), None)
    return when if isinstance(when, datetime) else None


def _addresses(msg: Message, name: str, hint: str | None = None) -> list[Address]:
    header = _safe(lambda: msg.get(name), None)
    if header is None:
        return []
    raw = [str(v) for k, v in _safe(lambda: msg.raw_items(), []) if k.lower() == name] or [str(header)]
    # getaddresses also reads the old "addr (Name)" form, whose name the default policy drops.
    pairs = _safe(lambda: getaddresses([_decode_words(v, hint) for v in raw]), [])
    names = {e.lower(): _one_line(n) for n, e in pairs if n and e}
    found = _safe(lambda: list(header.addresses), None)
    if found:
        result = []
        for item in found:
            if isinstance(item, _HeaderAddress):
                shown = _one_line(charsets.fix_surrogates(item.display_name, hint))
                email = charsets.fix_surrogates(item.addr_spec, hint)
                result.append(Address(name=shown or names.get(email.lower(), ""), email=email))
        if result and all(a.email and a.email != "<>" and "\ufffd" not in a.name for a in result):
            return result[:500]
    return [
        Address(name=_one_line(charsets.fix_surrogates(n, hint)), email=_one_line(charsets.fix_surrogates(e, hint)))
        for n, e in pairs
        if n or e
    ][:500]


def _content_id(part: Message) -> str | None:
    value = _safe(lambda: part.get("content-id"), None)
    if value is None:
        return None
    text = str(value).strip()
    return text[1:-1].strip() if text.startswith("<") and text.endswith(">") else text or None


def _uudecode(body: str) -> bytes | None:
    out = bytearray()
    for line in body.splitlines():
        if not line or line in ("`", " "):
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            try:  # some encoders write lines a few characters long or short: trust the length byte
                nbytes = ((ord(line[0]) - 32) & 63) * 4 // 3 + 3
                out += binascii.a2b_uu(line[: nbytes // 4 * 4 + 1])
            except (binascii.Error, IndexError):
                return None
    return bytes(out)


def _clean_filename(name: str) -> str:
    """A file's name as a download may use it: no folders (``../``), no control characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    return name[:255] or "attachment"


def _default_name(ctype: str) -> str:
    main, _, sub = ctype.partition("/")
    extension = {"text/calendar": "ics", "text/plain": "txt", "text/html": "html", "application/pdf": "pdf"}.get(ctype)
    return f"{main or 'attachment'}.{extension or (sub.split('+')[0] if sub else 'bin')}"


def _guess_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _safe_name(subject: str) -> str:
    name = re.sub(r"[^\w .,()-]+", "", subject).strip()[:80]
    return name or "message"


Attachment.model_rebuild()
