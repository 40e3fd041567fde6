"""Events the email service publishes, registered once in the catalogue.

`email.sent` and `email.send_requested` are contracts with other services and live in
`shared/contracts/messaging.py`; the feedback of each sent mail is registered here.
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

import shared.contracts.audience  # registers audience.requested / audience.page
import shared.contracts.messaging  # noqa: F401  (email.sent / email.send_requested)
from shared.events import catalogue

PRODUCER = "email"


class EmailFeedback(BaseModel):
    """What happened to one sent mail, as SES reported it."""

    message_id: str = Field(description="The email service's id of the mail (one per recipient)")
    contact_id: str | None = None
    campaign_id: str | None = None
    to: str
    at: datetime


class EmailClicked(EmailFeedback):
    url: str


class EmailBounced(EmailFeedback):
    bounce_type: Literal["hard", "soft"]
    suppressed: bool = Field(description="Whether the address is now suppressed for every list type")


class EmailRejected(EmailFeedback):
    reason: str = Field(description="Why SES did not send the mail after all (a Reject or a Rendering Failure)")


class EmailUnsubscribed(BaseModel):
    contact_id: str | None = None
    address: str
    list_type_id: str
    at: datetime
    message_id: str | None = Field(None, description="The mail whose link the recipient used, if one did")
    campaign_id: str | None = Field(None, description="That mail's campaign")


_SPECS: list[tuple[str, type[BaseModel], str]] = [
    ("email.delivered", EmailFeedback, "The receiving server accepted a mail."),
    ("email.opened", EmailFeedback, "A recipient opened a mail (open tracking on)."),
    ("email.clicked", EmailClicked, "A recipient clicked a link in a mail (click tracking on)."),
    ("email.bounced", EmailBounced, "A mail bounced; a hard bounce suppresses the address."),
    ("email.complained", EmailFeedback, "A recipient marked a mail as spam; the address is suppressed."),
    ("email.rejected", EmailRejected, "SES did not send an accepted mail after all (Reject, Rendering Failure)."),
    ("email.unsubscribed", EmailUnsubscribed, "A recipient opted out of a list type."),
]

for _type, _payload, _description in _SPECS:
    catalogue.register(_type, _payload, producer=PRODUCER, description=_description)
