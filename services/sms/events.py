"""Events the sms service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`
(`sms.sent`: shared/contracts/messaging.py). The inbound side's and the delivery receipts' events are
registered here.
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
