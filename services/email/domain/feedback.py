"""SES feedback (pure, no I/O): what an SES event on EventBridge says about one of our mails.

SES publishes through a configuration set's EventBridge destination to the default bus; the event's
`detail` is the SES event record: `eventType`, `mail` (`messageId`, `destination`, `headers`, `tags`)
and the section of its type: `delivery`, `bounce`, `complaint`, `reject`, `failure` (Rendering
Failure), `deliveryDelay`. Our own message id is in the mail's Message-ID header (`<id@kontakt>`);
the tenant and message id are also in the mail's tags.

The configuration set enables send, reject, bounce, complaint, delivery, renderingFailure and
deliveryDelay: Send is the sender's proof (services/email/proofs.py); Reject and Rendering Failure
mean the mail was not sent after all (`rejected`); DeliveryDelay is noted, not a bounce (`delayed`).
Opens and clicks are Kontakt's own (`/t/` links, services/email/tracking.py): SES's Open and Click
are not enabled, and not read should someone enable them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

DEFAULT_SOFT_BOUNCE_LIMIT = 3
HEADER_SUFFIX = "@kontakt>"


class Kind(StrEnum):
    delivered = "delivered"
    bounced = "bounced"
    complained = "complained"
    opened = "opened"  # Kontakt's own tracking
    clicked = "clicked"  # Kontakt's own tracking
    rejected = "rejected"  # SES did not send it after all (Reject, Rendering Failure)
    delayed = "delayed"  # the receiving server defers it; SES keeps trying


# SES `eventType` -> (what we record, the record's section); Send, Open, Click, Subscription are not read here.
_KINDS = {
    "Delivery": (Kind.delivered, "delivery"),
    "Bounce": (Kind.bounced, "bounce"),
    "Complaint": (Kind.complained, "complaint"),
    "Reject": (Kind.rejected, "reject"),
    "Rendering Failure": (Kind.rejected, "failure"),
    "DeliveryDelay": (Kind.delayed, "deliveryDelay"),
}


class Feedback(BaseModel):
    """One SES report about one recipient of one of our mails."""

    tenant_id: str | None
    message_id: str | None = Field(description="Our message id (from the tags or the Message-ID header)")
    kind: Kind
    recipient: str
    at: datetime
    sent_at: datetime = Field(description="When SES accepted the mail")
    bounce_type: str | None = Field(default=None, description="hard | soft, for a bounce")
    url: str | None = None
    reason: str | None = Field(default=None, description="Why SES rejected the mail, or why it is delayed")

    @property
    def key(self) -> tuple[str, ...]:
        """What makes a report the same report again: (message, kind, recipient[, link])."""
        parts = (self.message_id or "", self.kind.value, self.recipient)
        return (*parts, self.url) if self.kind == Kind.clicked and self.url else parts

    @property
    def suppresses(self) -> bool:
        """A hard bounce or a complaint suppresses the address for every list type."""
        return self.kind == Kind.complained or (self.kind == Kind.bounced and self.bounce_type == "hard")

    @property
    def soft_bounce(self) -> bool:
        return self.kind == Kind.bounced and self.bounce_type == "soft"

    @property
    def not_sent(self) -> bool:
        """SES did not send the mail after all (Reject, Rendering Failure): the message failed."""
        return self.kind == Kind.rejected


def normalise(address: str) -> str:
    return address.strip().lower()


def bounce_type(ses_type: str | None) -> str:
    """Permanent is hard; Transient and Undetermined are soft (counted towards the tenant's limit)."""
    return "hard" if ses_type == "Permanent" else "soft"


def soft_limit_reached(count: int, limit: int) -> bool:
    return count >= max(1, limit)


def message_id_from_header(value: str | None) -> str | None:
    """`<id@kontakt>` -> id; a Message-ID that is not ours -> None."""
    text = (value or "").strip()
    if not text.startswith("<") or not text.endswith(HEADER_SUFFIX):
        return None
    return text[1 : -len(HEADER_SUFFIX)] or None


def mail_tag(mail: dict[str, Any], name: str) -> str | None:
    """The value of one of the mail's SES tags (the sender sets "tenant" and "message")."""
    values = (mail.get("tags") or {}).get(name) or []
    return str(values[0]) if values else None


def _header(mail: dict[str, Any], name: str) -> str | None:
    for header in mail.get("headers") or []:
        if str(header.get("name", "")).lower() == name.lower():
            return str(header.get("value", ""))
    common = mail.get("commonHeaders") or {}
    value = common.get("messageId") if name.lower() == "message-id" else None
    return str(value) if value else None


def mail_message_id(mail: dict[str, Any]) -> str | None:
    """Our message id of an SES event's mail: its "message" tag, else its Message-ID header."""
    return mail_tag(mail, "message") or message_id_from_header(_header(mail, "Message-ID"))


def event_time(*values: Any) -> datetime:
    """The first of the ISO timestamps given; now when none is."""
    for value in values:
        if value:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _recipients(event_type: str, detail: dict[str, Any], mail: dict[str, Any]) -> list[str]:
    if event_type == "Bounce":
        found = [r.get("emailAddress", "") for r in detail.get("bounce", {}).get("bouncedRecipients", [])]
    elif event_type == "Complaint":
        found = [r.get("emailAddress", "") for r in detail.get("complaint", {}).get("complainedRecipients", [])]
    elif event_type == "Delivery":
        found = list(detail.get("delivery", {}).get("recipients", []))
    elif event_type == "DeliveryDelay":
        found = [r.get("emailAddress", "") for r in detail.get("deliveryDelay", {}).get("delayedRecipients", [])]
    else:  # a rejected or unrendered mail names no recipient: it was not sent to any of its destination
        found = []
    found = found or list(mail.get("destination") or [])
    return list(dict.fromkeys(normalise(a) for a in found if a))


def classify(detail: dict[str, Any]) -> list[Feedback]:
    """The reports in one SES event record, one per recipient; [] for an event we do not record."""
    event_type = str(detail.get("eventType") or detail.get("notificationType") or "")
    if event_type not in _KINDS:
        return []
    kind, section_name = _KINDS[event_type]
    mail = detail.get("mail") or {}
    message_id = mail_message_id(mail)
    section = detail.get(section_name) or {}
    at = event_time(section.get("timestamp"), mail.get("timestamp"))
    extra: dict[str, Any] = {}
    if kind == Kind.bounced:
        extra["bounce_type"] = bounce_type(section.get("bounceType"))
    if event_type == "Reject":
        extra["reason"] = f"SES rejected the mail: {section.get('reason') or 'no reason given'}"
    if event_type == "Rendering Failure":
        extra["reason"] = f"SES could not render the mail: {section.get('errorMessage') or 'no reason given'}"
    if kind == Kind.delayed:
        extra["reason"] = str(section.get("delayType") or "Undetermined")
    return [
        Feedback(
            tenant_id=mail_tag(mail, "tenant"),
            message_id=message_id,
            kind=kind,
            recipient=r,
            at=at,
            sent_at=event_time(mail.get("timestamp")),
            **extra,
        )
        for r in _recipients(event_type, detail, mail)
    ]
