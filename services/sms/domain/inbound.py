"""Inbound SMS as the API shows them [issue 19 item 4]: the numbers that opted out of the tenant's
marketing SMS, and the inbound messages that were not keywords."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.types import OUTPUT


class SmsOptOut(BaseModel):
    model_config = OUTPUT

    id: str = Field(description="The number, E.164")
    number: str = Field(description="The number, E.164")
    keyword: str = Field(description="The message that opted it out, as received")
    contact_id: str | None = Field(None, description="The contact matched by the number when it opted out")
    opted_out_at: datetime
    version: int | None = None


class SmsInbound(BaseModel):
    model_config = OUTPUT

    id: str
    number: str = Field(description="The sender's number, E.164")
    to: str = Field(description="Our number it was sent to")
    text: str
    contact_id: str | None = Field(None, description="The contact whose mobile number it came from, if any")
    in_reply_to: str | None = Field(None, description="The id of our message it answered")
    received_at: datetime
    version: int | None = None
