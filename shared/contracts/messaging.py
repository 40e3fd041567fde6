"""What the email and SMS services announce when a message went out to a person.

The activities service turns each into a marketing activity on the contact (seed 004: "sending
an email or SMS creates a marketing activity"). Defined here, beside the audience contract,
because the producers (email, sms) and the consumer (activities) are different services.
"""

from datetime import datetime

from pydantic import BaseModel, Field

from shared.events import catalogue


class MessageSent(BaseModel):
    message_id: str = Field(description="The sending service's id of this message (one per recipient)")
    contact_id: str | None = Field(None, description="The contact it went to, when the recipient is a contact")
    account_id: str | None = None
    to: str = Field(description="The address or phone number it went to")
    subject: str | None = Field(None, description="Email subject, or the first words of an SMS")
    campaign_id: str | None = None
    sent_by: str | None = Field(None, description="The user who sent it, if a person did")
    sent_at: datetime


class EmailSent(MessageSent):
    pass


class SmsSent(MessageSent):
    pass


catalogue.register("email.sent", EmailSent, producer="email", description="An email was handed to the mail server.")
catalogue.register("sms.sent", SmsSent, producer="sms", description="An SMS was handed to the SMS provider.")
