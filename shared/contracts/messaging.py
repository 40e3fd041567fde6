"""What the email and SMS services announce when a message went out to a person, and what became of it.

The activities service turns each into a marketing activity on the contact (seed 004: "sending
an email or SMS creates a marketing activity"). Defined here, beside the audience contract,
because the producers (email, sms) and the consumer (activities) are different services. The
outcome of each mail (`email.delivered`, `email.bounced`, `email.rejected`, `email.failed` ...) names
the request it came from (`requester`, `request_id`), so a requester follows its own mails (the
scanner shows a reply's delivery status on its article).
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from shared.contracts.audience import ActingUser
from shared.events import catalogue
from shared.ids import derived_id
from shared.types import MAIL_NAME_MAX, MAIL_SUBJECT_MAX, OneLine

# What reaches the mail's headers holds one line and the lengths the email API takes for them.
MailSubject = Annotated[str, Field(max_length=MAIL_SUBJECT_MAX), OneLine]
MailName = Annotated[str, Field(max_length=MAIL_NAME_MAX), OneLine]
# The headers a requester may set on a mail: those that mark it automatic (the scanner's loop safety).
AutoHeader = Literal["Auto-Submitted", "X-Loop", "X-Auto-Response-Suppress", "Precedence"]


class MessageSent(BaseModel):
    message_id: str = Field(description="The sending service's id of this message (one per recipient)")
    contact_id: str | None = Field(None, description="The contact it went to, when the recipient is a contact")
    account_id: str | None = None
    to: str = Field(description="The address or phone number it went to")
    subject: str | None = Field(None, description="Email subject, or the first words of an SMS")
    campaign_id: str | None = None
    sent_by: str | None = Field(None, description="The user who sent it, if a person did")
    sent_at: datetime


class Requested(BaseModel):
    """Names the `email.send_requested` a mail came from, so that its requester can follow it (a
    ticket reply's delivery status): an EventBridge rule filters on `requester`. Both are absent on a
    campaign's or a user's mail and on events published before they were added."""

    requester: str | None = Field(None, description="The service whose email.send_requested asked for the mail")
    request_id: str | None = Field(None, description="That request's `request_id` (the requester's reference)")


class EmailSent(MessageSent, Requested):
    pass


class EmailFeedback(Requested):
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


class EmailFailed(Requested):
    """A requested mail (`email.send_requested`) that was not sent and never will be."""

    message_id: str = Field(description="The email service's id of the mail")
    contact_id: str | None = None
    to: str = Field(description="The recipient's address (empty when the contact was erased)")
    status: Literal["failed", "skipped", "suppressed", "opted_out"] = Field(
        description="failed: refused (the request, the mail server) or the mail cannot be built; skipped: the "
        "contact was erased; suppressed: the address bounced hard or complained before; opted_out: the "
        "recipient opted out of the request's list type"
    )
    reason: str | None = Field(None, description="Why (none for an erased contact's)")
    at: datetime


class SmsSent(MessageSent):
    pass


class EmailAttachment(BaseModel):
    """A file in S3 that a mail carries: the requester puts (copies) it into the email service's files
    bucket under `requests/{tenant_id}/` first; the email service reads that bucket only."""

    bucket: str
    key: str
    name: str = Field(min_length=1, max_length=255)
    content_type: str = "application/octet-stream"
    size: int = Field(ge=0, description="Bytes; a transactional mail carries at most 25 MB in all")


class EmailSendRequested(BaseModel):
    """Another service asks the email service to send one mail (ticket reply, reminder, invoice).

    A request this model refuses (a subject with a line break, say) is that one mail failed, with
    the reasons, when it names its requester, request id and recipient; otherwise it is logged and
    dropped. It is never retried: the same event would be refused again."""

    request_id: str = Field(description="The requester's idempotency key: one mail per key, however often sent")
    requester: str = Field(description="The service asking (scanner, invoicing, activities ...)")
    to: str = Field(description="The recipient's address")
    to_name: MailName | None = Field(None, description="The recipient's name: one line, at most 201 characters")
    contact_id: str | None = Field(None, description="The contact it goes to, if the recipient is one")
    account_id: str | None = None
    template_id: str | None = Field(None, description="Render this template; or give subject and bodies")
    data: dict[str, Any] = Field(
        default_factory=dict, description="Fields a template's tags read (the record the mail is about)"
    )
    subject: MailSubject | None = Field(None, description="One line, at most 500 characters")
    html: str | None = None
    text: str | None = None
    list_type_id: str | None = Field(
        None, description="The list type it belongs to; none for a mail the recipient cannot refuse"
    )
    attachments: list[EmailAttachment] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    in_reply_to: str | None = Field(None, description="Message-ID this mail answers (threading)")
    references: list[str] = Field(default_factory=list, description="Message-IDs of the thread (threading)")
    from_address: str | None = Field(
        None,
        max_length=320,
        pattern=r"^[^\s@<>,;\"]+@[^\s@<>,;\"]+$",
        description="The From this mail asks for (a ticket's mailbox). Used when the tenant may send from it: "
        "an address on the stack's sending domain or on the domain of the tenant's own From (an SES identity), "
        "or any address when the tenant sends through its own SMTP server; otherwise the mail goes from the "
        "tenant's From with this address as Reply-To, so that answers still reach it",
    )
    from_name: MailName | None = Field(None, description="The From name with `from_address`")

    headers: dict[AutoHeader, Annotated[str, Field(max_length=320), OneLine]] = Field(
        default_factory=dict,
        description="Loop-safety headers of an automatic mail (RFC 3834): Auto-Submitted, X-Loop, "
        "X-Auto-Response-Suppress, Precedence; no other header may be set",
    )


def sent_message_id(requester: str, request_id: str) -> str:
    """The email service's id of the mail a request makes: what its `email.sent` carries as
    `message_id`; the mail's Message-ID header is `message_id_header(requester, request_id)`. A
    requester threads the recipient's answer by it before the mail is even sent."""
    return derived_id(requester, request_id)


def message_id_header(requester: str, request_id: str) -> str:
    """The Message-ID header of the mail a request makes (the email service writes exactly this)."""
    return f"<{sent_message_id(requester, request_id)}@kontakt>"


class SmsSendRequested(BaseModel):
    """Another service asks the sms service to send one SMS to one contact (a workflow step, a reminder).

    It goes through the checks of `POST /sms/messages` as `requested_by` (SMS active, a contact that
    user may see, a mobile number in the field, the opt-out rule, the tags filled, the part limit,
    the credits reserved). One message per tenant and `request_id`, however often the request is
    delivered or repeated. A request that cannot be sent is recorded with its status and reason and
    answered with `sms.failed` carrying the `request_id`; it is never retried.
    """

    request_id: str = Field(
        min_length=1, max_length=200, description="The requester's idempotency key: one SMS per key and tenant"
    )
    contact_id: str = Field(min_length=1, max_length=64, description="The contact the SMS goes to")
    number_field: Literal["mobile", "phone"] = Field("mobile", description="The contact field holding the number")
    text: str = Field(description="The text, with tags as in `POST /sms/messages` (filled for the contact)")
    transactional: bool = Field(False, description="A transactional message (a reminder) rather than marketing")
    requested_by: ActingUser | None = Field(
        None,
        description="The user the requester acts for: the contact must be one they may see. None: the requester's "
        "own work (every contact)",
    )


catalogue.register("email.sent", EmailSent, producer="email", description="An email was handed to the mail server.")
_FEEDBACK: list[tuple[str, type[BaseModel], str]] = [
    ("email.delivered", EmailFeedback, "The receiving server accepted a mail."),
    ("email.opened", EmailFeedback, "A recipient opened a mail (open tracking on)."),
    ("email.clicked", EmailClicked, "A recipient clicked a link in a mail (click tracking on)."),
    ("email.bounced", EmailBounced, "A mail bounced; a hard bounce suppresses the address."),
    ("email.complained", EmailFeedback, "A recipient marked a mail as spam; the address is suppressed."),
    ("email.rejected", EmailRejected, "SES did not send an accepted mail after all (Reject, Rendering Failure)."),
    ("email.failed", EmailFailed, "A requested mail (email.send_requested) will not be sent (its status says why)."),
]
for _type, _payload, _description in _FEEDBACK:
    catalogue.register(_type, _payload, producer="email", description=_description)
catalogue.register("sms.sent", SmsSent, producer="sms", description="An SMS was handed to the SMS provider.")
catalogue.register(
    "email.send_requested",
    EmailSendRequested,
    producer="any service",
    description="Send one mail (transactional): the email service renders, sends and publishes email.sent.",
)
catalogue.register(
    "sms.send_requested",
    SmsSendRequested,
    producer="any service",
    description="Send one SMS to one contact: the sms service checks, sends and publishes sms.sent, or sms.failed.",
)
