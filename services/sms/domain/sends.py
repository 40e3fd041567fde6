"""SMS sends to a target group [002 Tekstiviestit; issue 19 item 3a] (pure, no I/O): the request,
the send as a client reads it, and what one member of the group becomes.

A send resolves its group through the directory's audience events (`audience.requested` ->
`audience.page`): the pages are the snapshot it sends to. Each member becomes one message with id
`derived_id(send_id, e164)` (the same number twice in one send is one message), or, with no
usable number, `derived_id(send_id, "contact", contact_id)`. Statuses of a send:

- `scheduled`: waits for `scheduled_at` (a one-time schedule puts `sms.send` on the jobs queue);
- `resolving`: the audience is asked for and its pages are being staged;
- `sending`: every page is in and the whole send's credits are reserved: its messages are queued
  (shown `sent` once none is queued any more);
- `refused`: the balance did not cover the send when its last page came: nothing reserved, its
  messages `skipped`; `failed`: the audience could not be resolved (an unknown group);
  `cancelled`: cancelled before its last page came.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from services.sms.domain.messages import NumberField, SmsMessageStatus
from services.sms.domain.numbers import read_number
from services.sms.domain.preview import Text
from shared.ids import derived_id
from shared.schedules import RecordSchedule
from shared.tags import CONTACT_FIELDS
from shared.types import INPUT, OUTPUT, Id

KIND = "send"
REQUESTER = "sms"  # the audience requests of sends (and their pages) carry it
SEND_JOB = "sms.send"  # what a scheduled send's one-time schedule puts on the jobs queue
SCHEDULE = RecordSchedule(prefix="sms-send", job=SEND_JOB, id_field="send_id", label="SMS send")
COUNTED = (
    "recipients",
    "queued",
    "sent",
    "delivered",
    "failed",
    "opted_out",
    "invalid_number",
    "skipped",
    "unknown",
)


class SendStatus(StrEnum):
    scheduled = "scheduled"
    resolving = "resolving"
    sending = "sending"
    sent = "sent"
    refused = "refused"
    failed = "failed"
    cancelled = "cancelled"


CANCELLABLE = (SendStatus.scheduled, SendStatus.resolving)


class SmsSendRequest(BaseModel):
    model_config = INPUT

    target_group_id: Id = Field(
        description="The directory target group whose contacts get the message, as the caller sees them; a "
        "deleted group or one the tenant does not have is a 422 naming `target_group_id` (nothing is written)"
    )
    text: Text = Field(
        description="The message (not blank, at most 1,600 characters). Tags (`{{ contact.first_name }}`, "
        "`{{ account.name }}`, `{{ owner.id }}`) are filled per contact; a syntax error, an unknown tag or more "
        "parts than the tenant's `max_parts` as written is a 422 naming `text`"
    )
    number_field: NumberField = Field("mobile", description="The contact field holding each member's number")
    transactional: bool = Field(
        False,
        description="A transactional send: opted-out numbers get it too when the tenant's "
        "`transactional_to_opted_out` is on",
    )
    scheduled_at: AwareDatetime | None = Field(
        None, description="Send at this time (with a zone, in the future) instead of now"
    )


class SendStats(BaseModel):
    model_config = OUTPUT

    recipients: int = Field(0, description="Messages of the send: one per distinct number (or member without one)")
    queued: int = Field(0, description="Waiting for the provider (staged, or claimed by the sender)")
    sent: int = Field(0, description="Accepted by the provider, no receipt yet")
    delivered: int = 0
    failed: int = Field(0, description="Refused or not delivered by the provider, or the text could not be filled")
    opted_out: int = 0
    invalid_number: int = Field(0, description="No number, an invalid one or one that is not a mobile number")
    skipped: int = Field(0, description="Not sent: the send was refused, or the contact is gone")
    unknown: int = Field(0, description="No receipt in 72 hours")


class SmsSend(BaseModel):
    model_config = OUTPUT

    id: str
    target_group_id: str
    text: str
    number_field: NumberField
    transactional: bool
    status: SendStatus
    reason: str | None = Field(None, description="Why the send was refused or failed")
    scheduled_at: datetime | None = None
    started_at: datetime | None = Field(None, description="When the audience was asked for")
    credits: int = Field(0, description="Credits reserved for the whole send when its last page came")
    stats: SendStats = Field(default_factory=SendStats)
    created_by: str
    created_at: datetime
    version: int | None = None


def audience_fields(text: str) -> list[str]:
    """The contact fields each member's page entry carries: both numbers and what the tags read."""
    named = [f for f in re.findall(r"contact\.([a-z_]+)", text) if f in CONTACT_FIELDS]
    return list(dict.fromkeys(["mobile", "phone", "account_id", *named]))


def shown_status(stored: str, counts: Mapping[str, int]) -> SendStatus:
    """A sending send whose messages all left the queue shows as sent."""
    if stored == SendStatus.sending and not counts.get("queued"):
        return SendStatus.sent
    return SendStatus(stored)


def member_number(send_id: str, raw: str, default_country: str, contact_id: str) -> tuple[str, str | None, str | None]:
    """(message id, E.164 or None, the problem) of one member's number."""
    if not raw:
        return derived_id(send_id, "contact", contact_id), None, "no_number"
    number = read_number(raw, default_country)
    if number.e164 is None:
        return derived_id(send_id, "contact", contact_id), None, number.problem or "invalid_number"
    return derived_id(send_id, number.e164), number.e164, None


NUMBER_REASONS = {
    "no_number": "The contact has no {field} number.",
    "invalid_number": "The contact's {field} is not a valid phone number.",
    "not_mobile": "The contact's {field} is not a mobile number.",
}


def not_sent(status: SmsMessageStatus, reason: str) -> dict[str, Any]:
    return {"status": status.value, "reason": reason, "parts": 0, "credits": 0}
