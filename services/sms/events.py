"""Events the sms service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
`sms.sent` is one (shared/contracts/messaging.py); the inbound side's events are registered here.
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
