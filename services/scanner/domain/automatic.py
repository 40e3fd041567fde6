"""Loop safety (pure): whether a parsed message was sent by a machine, and why (issue 21 item 7).

No automatic mail (an auto-reply, a notification) may answer a message that `classify` finds
automatic: that is what keeps two systems that auto-reply to each other from looping. The reasons
are returned, not just a yes/no, so that the ticket's article can show them. A bounce (a delivery
status report) is recognised with the Message-ID of the mail it answers: it never opens a ticket,
it is recorded on the ticket of that mail.

What counts (RFC 3834 section 5 and the headers real auto-responders write):
- Auto-Submitted other than "no" (auto-replied, auto-generated, auto-notified);
- Precedence bulk, list or junk (and auto_reply, which some responders write);
- X-Loop naming one of our addresses;
- X-Autoreply, X-Autorespond, X-Auto-Response-Suppress (Exchange; any value but none);
- List-Id or List-Unsubscribe (a mailing list's mail);
- a sender that is a system mailbox: mailer-daemon, postmaster, no-reply and its spellings, or a
  null Return-Path (<>, what RFC 3834 asks auto-responses to be sent with);
- a Message-ID of ours: our own mail come back;
- a report (multipart/report: delivery status, read receipt, feedback report).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the MIME parser (charset detection, reply parsing: ~30 ms) loads with an inbound mail only
    from services.scanner.domain.mime import ParsedMessage


ReasonCode = Literal[
    "auto-submitted",
    "precedence",
    "x-loop",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "system-sender",
    "own-message",
    "report",
]
BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply", "auto-reply"}
# Local parts of mailboxes that only machines write from.
SYSTEM_SENDER = re.compile(
    r"^(?:mailer[-_.]?daemon|postmaster|(?:do[-_.]?)?not?[-_.]?reply|no[-_.]?repl(?:y|ies)|bounces?|"
    r"auto[-_.]?(?:reply|responder|mailer)|daemon)(?:[-+._].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    detail: str  # the header and value (or address) that gave it away

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True)
class Bounce:
    """A delivery status report: which mail it answers and what happened to each recipient."""

    original_message_id: str | None
    recipients: list[dict[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.get("action", "").lower().startswith("failed") for r in self.recipients)


@dataclass(frozen=True)
class Automatic:
    reasons: list[Reason]
    bounce: Bounce | None = None

    @property
    def automatic(self) -> bool:
        """True: never answer this message automatically."""
        return bool(self.reasons)

    def __bool__(self) -> bool:
        return self.automatic


def classify(
    message: ParsedMessage,
    *,
    our_addresses: Iterable[str] = (),
    is_our_message_id: Callable[[str], bool] | None = None,
) -> Automatic:
    """Why `message` is automatic (empty reasons: a person wrote it).

    `our_addresses`: the mailbox addresses that X-Loop may name (compared case-insensitively);
    `is_our_message_id`: whether a Message-ID is one Kontakt generated (our own mail come back).
    """
    reasons: list[Reason] = []
    ours = {a.strip().lower() for a in our_addresses if a.strip()}

    for value in message.header_values("auto-submitted"):
        if _token(value) != "no":
            reasons.append(Reason("auto-submitted", f"Auto-Submitted: {value}"))
    for value in message.header_values("precedence"):
        if _token(value) in BULK_PRECEDENCE:
            reasons.append(Reason("precedence", f"Precedence: {value}"))
    for value in message.header_values("x-loop"):
        named = {a.lower() for a in re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", value)} | {value.strip().lower()}
        if ours & named:
            reasons.append(Reason("x-loop", f"X-Loop: {value}"))
    for value in message.header_values("x-autoreply"):
        if _token(value) not in ("no", "false", "0"):
            reasons.append(Reason("x-autoreply", f"X-Autoreply: {value}"))
    for value in message.header_values("x-autorespond"):
        if _token(value) not in ("no", "false", "0"):
            reasons.append(Reason("x-autorespond", f"X-Autorespond: {value}"))
    for value in message.header_values("x-auto-response-suppress"):
        if _token(value) != "none":
            reasons.append(Reason("x-auto-response-suppress", f"X-Auto-Response-Suppress: {value}"))
    for value in message.header_values("list-id")[:1]:
        reasons.append(Reason("list-id", f"List-Id: {value}"))
    for value in message.header_values("list-unsubscribe")[:1]:
        reasons.append(Reason("list-unsubscribe", f"List-Unsubscribe: {value}"))
    senders = [a.email for a in message.from_] + ([message.sender.email] if message.sender else [])
    return_paths = message.header_values("return-path")
    senders += [_angle(v) for v in return_paths]
    for address in dict.fromkeys(s.strip().lower() for s in senders if s and s.strip()):
        if SYSTEM_SENDER.match(address.partition("@")[0]):
            reasons.append(Reason("system-sender", address))
    if any(v.strip() in ("<>", "") for v in return_paths):
        reasons.append(Reason("system-sender", "Return-Path: <>"))
    if is_our_message_id is not None and message.message_id and is_our_message_id(message.message_id):
        reasons.append(Reason("own-message", f"Message-ID: {message.message_id}"))
    bounce = None
    if message.report is not None:
        reasons.append(Reason("report", f"multipart/report; report-type={message.report.report_type}"))
        if message.report.report_type == "delivery-status":
            bounce = Bounce(message.report.original_message_id, list(message.report.recipients))
    elif any(r.code == "system-sender" for r in reasons):
        # An old-style bounce (no multipart/report) from a mailer daemon that returns the original.
        original = next((a.message.message_id for a in message.attachments if a.message is not None), None)
        if original is not None:
            bounce = Bounce(original)
    return Automatic(reasons, bounce)


def _token(value: str) -> str:
    """A header's first token, lower case ("auto-replied; owner=..." -> "auto-replied")."""
    return value.split(";", 1)[0].strip().strip('"').lower()


def _angle(value: str) -> str:
    value = value.strip()
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value
