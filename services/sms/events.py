"""Events the sms service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`
(`sms.sent`: shared/contracts/messaging.py). The inbound side's and the delivery receipts' events are
registered here, and those of a person's changes that no other service consumes (the audit trail reads
every event): a message asked for, a send to a target group created or cancelled, the settings
changed, credits topped up.
"""

from datetime import datetime

from pydantic import BaseModel, Field

import shared.contracts.messaging  # noqa: F401  (sms.sent)
from shared.events import catalogue

PRODUCER = "sms"


class SmsOptedOut(BaseModel):
    """A number opted out of the tenant's marketing SMS (an inbound opt-out keyword)."""

    number: str = Field(description="The number that opted out, E.164")
    keyword: str = Field(description="The message it sent, as received")
    contact_id: str | None = Field(default=None, description="The contact matched by the number, if any")
    at: datetime


class SmsReceived(BaseModel):
    """An inbound SMS that is not a keyword, stored as an `inbound` message."""

    inbound_id: str = Field(description="The sms service's id of the stored inbound message")
    number: str = Field(description="The sender's number, E.164")
    text: str
    contact_id: str | None = Field(default=None, description="The contact matched by the number, if any")
    in_reply_to: str | None = Field(default=None, description="The id of our message the sender answered")
    received_at: datetime


catalogue.register(
    "sms.opted_out", SmsOptedOut, producer=PRODUCER, description="A number opted out of the tenant's marketing SMS."
)
catalogue.register(
    "sms.received", SmsReceived, producer=PRODUCER, description="An inbound SMS was received and stored."
)


class SmsDelivered(BaseModel):
    """The provider's receipt: the handset received one of our messages."""

    message_id: str = Field(description="The sms service's id of the message")
    contact_id: str | None = None
    to: str = Field(description="The number in E.164")
    at: datetime = Field(description="When the provider reported it")


class SmsFailed(SmsDelivered):
    """A message that did not reach its recipient: the provider's receipt says it could not deliver it
    (its parts stay charged: it was sent), the provider refused it (no `receipt`, its parts
    refunded), or an `sms.send_requested` could not be sent at all (its `status` says why: nothing
    reserved, nothing sent)."""

    to: str | None = Field(None, description="The number in E.164 (none when the contact has no valid one)")  # type: ignore[assignment]
    status: str = Field(
        "failed",
        description="The message's status: failed, or invalid_number / opted_out for a request that was not sent",
    )
    receipt: str | None = Field(
        None, description="The provider's event type, e.g. TEXT_UNREACHABLE, TEXT_BLOCKED (none when never sent)"
    )
    reason: str = Field(description="The provider's description of the failure, or why the request was not sent")
    request_id: str | None = Field(None, description="The `sms.send_requested` request the message was made for")


catalogue.register(
    "sms.delivered", SmsDelivered, producer=PRODUCER, description="The provider reported an SMS delivered."
)
catalogue.register(
    "sms.failed",
    SmsFailed,
    producer=PRODUCER,
    description="An SMS did not reach its recipient (a failure receipt, the provider's refusal, or a send request "
    "that could not be sent).",
)


class SmsCreated(BaseModel):
    """One SMS to one contact a user asked for (`POST /sms/messages`): `queued` for sending (its
    credits reserved), or `failed` at once (the `reason`); `sms.sent` or `sms.failed` follows a queued one."""

    message_id: str = Field(description="The sms service's id of the message")
    contact_id: str
    status: str = Field(description="queued or failed")
    parts: int
    credits: int = Field(description="The credits reserved for it")
    transactional: bool
    reason: str | None = Field(None, description="Why a failed one failed")


class SmsSendChanged(BaseModel):
    """A send to a target group as it is after a user's change (its text is not repeated)."""

    id: str = Field(description="The send's id")
    target_group_id: str
    status: str = Field(description="scheduled, resolving, sending, sent, refused, failed or cancelled")
    scheduled_at: datetime | None = None
    number_field: str
    transactional: bool


class SmsSettingsUpdated(BaseModel):
    """The tenant's SMS settings after an admin's change (every changed field is in the event's `changes`)."""

    active: bool
    sender_id: str
    default_country: str
    max_parts: int


class SmsCreditsToppedUp(BaseModel):
    """An admin's top-up of the tenant's SMS credits: its ledger entry."""

    id: str = Field(description="The ledger entry's id (`GET /sms/ledger/{id}`)")
    credits: int
    note: str | None = None


catalogue.register(
    "sms.created",
    SmsCreated,
    producer=PRODUCER,
    description="A user asked for an SMS to one contact (queued for sending, or failed at once).",
)
catalogue.register(
    "sms_send.created",
    SmsSendChanged,
    producer=PRODUCER,
    description="A user created an SMS send to a target group (sent now, or scheduled).",
)
catalogue.register(
    "sms_send.cancelled",
    SmsSendChanged,
    producer=PRODUCER,
    description="A user cancelled an SMS send before it was sent (nothing reserved or sent).",
)
catalogue.register(
    "sms_settings.updated",
    SmsSettingsUpdated,
    producer=PRODUCER,
    description="An admin changed the tenant's SMS settings (activation, sender, window, keywords ...).",
)
catalogue.register(
    "sms_credits.topped_up",
    SmsCreditsToppedUp,
    producer=PRODUCER,
    description="An admin topped up the tenant's SMS credits.",
)
