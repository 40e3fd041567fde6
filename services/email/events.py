"""Events the email service publishes, registered once in the catalogue.

`email.sent`, `email.send_requested` and the outcome of each mail (delivered, bounced, rejected,
failed ...) are contracts with other services and live in `shared/contracts/messaging.py`; what no
other service reads is registered here.
"""

from datetime import datetime

from pydantic import BaseModel, Field

import shared.contracts.audience  # registers audience.requested / audience.page
import shared.contracts.messaging  # noqa: F401  (email.sent / email.send_requested / the feedback events)
from shared.events import catalogue

PRODUCER = "email"


class EmailUnsubscribed(BaseModel):
    contact_id: str | None = None
    address: str
    list_type_id: str
    at: datetime
    message_id: str | None = Field(None, description="The mail whose link the recipient used, if one did")
    campaign_id: str | None = Field(None, description="That mail's campaign")


catalogue.register(
    "email.unsubscribed", EmailUnsubscribed, producer=PRODUCER, description="A recipient opted out of a list type."
)
