"""Delivery receipts [issue 19 item 5]: what one provider event says about one of our messages.

AWS End User Messaging SMS puts an event on the account's default bus ("Text Message Delivery
Status Updated", source `aws.sms-voice`) each time a message's state changes; its `context` echoes
the Context map SendTextMessage was given ({tenant_id, message_id}: services/sms/sending.py). The
event types (End User Messaging SMS guide, "Event types"): TEXT_PENDING, TEXT_QUEUED and
TEXT_SUCCESSFUL (the carrier took it) say the provider has the message, nothing final;
TEXT_DELIVERED is the handset's receipt; every other TEXT_* type (TEXT_UNREACHABLE, TEXT_BLOCKED,
TEXT_CARRIER_UNREACHABLE, TEXT_INVALID, TEXT_SPAM, TEXT_TTL_EXPIRED, TEXT_UNKNOWN, ...) is a
failure to deliver, with the provider's reason in `messageStatusDescription`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared import clock

DETAIL_TYPE = "Text Message Delivery Status Updated"
SOURCE = "aws.sms-voice"
DELIVERED = "TEXT_DELIVERED"
IN_PROGRESS = frozenset({"TEXT_PENDING", "TEXT_QUEUED", "TEXT_SUCCESSFUL"})


class Outcome(StrEnum):
    accepted = "accepted"  # the provider has it (proof that it was sent), nothing final
    delivered = "delivered"
    failed = "failed"


@dataclass(frozen=True)
class Receipt:
    tenant_id: str
    message_id: str
    event_type: str
    provider_message_id: str
    reason: str
    at: datetime  # when the provider reported it
    requested_at: datetime  # when SendTextMessage was called (the message's `sent_at`)

    @property
    def outcome(self) -> Outcome:
        if self.event_type == DELIVERED:
            return Outcome.delivered
        if self.event_type in IN_PROGRESS:
            return Outcome.accepted
        return Outcome.failed


def read_receipt(detail: dict[str, Any]) -> Receipt | None:
    """The receipt in an event's `detail`; None when it is not about a text message of ours (no
    context naming a tenant and a message, or not a TEXT_* event)."""
    context = detail.get("context")
    context = context if isinstance(context, dict) else {}
    tenant_id, message_id = context.get("tenant_id"), context.get("message_id")
    event_type = str(detail.get("eventType") or "")
    if not tenant_id or not message_id or not event_type.startswith("TEXT_"):
        return None
    at = _time(detail.get("eventTimestamp"))
    return Receipt(
        tenant_id=str(tenant_id),
        message_id=str(message_id),
        event_type=event_type,
        provider_message_id=str(detail.get("messageId") or ""),
        reason=str(detail.get("messageStatusDescription") or detail.get("messageStatus") or event_type)[:500],
        at=at,
        requested_at=_time(detail.get("messageRequestTimestamp"), at),
    )


def _time(milliseconds: Any, default: datetime | None = None) -> datetime:
    """A Unix time in milliseconds as AWS gives it; `default` (else now) when it is missing."""
    try:
        return datetime.fromtimestamp(int(milliseconds) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return default or clock.now()
