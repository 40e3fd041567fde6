"""One SMS to one contact [002 Tekstiviestit; issue 19 item 3b]: a module tool sends a predefined
text to the number a contact field holds.

A message is accepted only whole: SMS activated, a contact the caller may see, a mobile number in
the field (read with the tenant's default country), a text whose tags can be filled and that is
within the tenant's part limit once they are (counted on the filled text), and
credits for every part reserved in the same transaction as the message (402 when the balance is
short: nothing written, nothing queued). An accepted message is `queued` for the sender.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from services.sms.domain.preview import Text
from services.sms.domain.segments import Encoding
from shared.types import INPUT, OUTPUT

NumberField = Literal["mobile", "phone"]
KIND = "message"  # the record kind (services/sms/messages.py writes them; the sender and receipts import this)
OPT_OUT = "opt_out"  # a number's opt-out, id = E.164 (inbound.py writes them; staging and the sender read them)


class SmsMessageStatus(StrEnum):
    queued = "queued"
    waiting = "waiting"  # a marketing message held for the tenant's sending window (`due_at`)
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"
    opted_out = "opted_out"
    invalid_number = "invalid_number"
    skipped = "skipped"
    unknown = "unknown"


class SmsMessageRequest(BaseModel):
    model_config = INPUT

    contact_id: str = Field(
        pattern=r"^[0-9A-Za-z_-]{1,64}$",
        description="The contact: one the caller may see (else a 422 naming `contact_id`, as an unknown id)",
    )
    number_field: NumberField = Field(
        description="The contact field holding the number: read with the tenant's `default_country`; no number, "
        "an invalid one or one that is not a mobile number is a 422 naming `number_field`"
    )
    text: Text = Field(
        description="The message (not blank, at most 1,600 characters; whitespace at either end is dropped). Tags "
        "(`{{ contact.first_name }}`, `{{ account.name }}`, `{{ owner.id }}`) are filled for the contact first: a "
        "syntax error or an unknown tag is a 422 naming `text`; more parts than the tenant's `max_parts` once "
        "filled is a 422 naming `text`"
    )
    transactional: bool = Field(
        False, description="A transactional message (an order confirmation, a reminder) rather than marketing"
    )


class SmsMessage(BaseModel):
    model_config = OUTPUT

    id: str
    send_id: str | None = Field(None, description="The target-group send the message is one of (/sms/sends)")
    contact_id: str
    number_field: NumberField
    to: str | None = Field(
        None, description="The number in E.164 (none for a requested message whose contact has no valid number)"
    )
    text: str = Field(
        description="The text as sent: its tags filled, then smart encoding when the tenant has it on (as written "
        "when its tags could not be filled)"
    )
    encoding: Encoding
    parts: int = Field(description="Message parts; one credit each (0 when the message failed before sending)")
    credits: int = Field(description="Credits reserved for the message (charged when sent, refunded when it fails)")
    status: SmsMessageStatus
    transactional: bool
    reason: str | None = Field(None, description="Why the message failed or was not sent")
    request_id: str | None = Field(None, description="The `sms.send_requested` request it was made for, if any")
    provider_message_id: str | None = None
    created_by: str
    created_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = Field(None, description="When the provider reported the message delivered")
    due_at: datetime | None = Field(
        None, description="A `waiting` message: when the tenant's sending window opens and it goes"
    )
    version: int | None = None
