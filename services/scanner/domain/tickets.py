"""Tickets and their articles: what a client sends and gets back."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.types import INPUT, OUTPUT, Code, Email, Owner, reject_null


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    pending = "pending"
    solved = "solved"
    closed = "closed"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TicketPatch(BaseModel):
    model_config = INPUT

    status: TicketStatus | None = None
    priority: Priority | None = None
    owner: Owner | None = Field(None, description="A user or group within the caller's reach")
    category: Code | None = Field(None, description="A code; null clears it")
    tags: list[Code] | None = Field(None, max_length=20)

    _not_null = field_validator("status", "priority", "owner", "tags")(reject_null)


class TicketSummary(BaseModel):
    """A ticket in a list and in its own GET (a ticket's articles are listed at /tickets/{id}/articles)."""

    model_config = OUTPUT

    id: str
    number: int = Field(description="The tenant's running number of the ticket (1, 2, ...; no gaps)")
    subject: str
    status: TicketStatus
    priority: Priority
    owner: Owner
    mailbox_id: str | None = None
    requester_email: str = Field("", description="The address the first mail came from")
    requester_contact_id: str | None = Field(None, description="The directory contact with that address, if any")
    requester_account_id: str | None = Field(None, description="That contact's account, if any")
    category: str | None = Field(None, description="Set by a scanner rule (a code)")
    tags: list[str] = Field(default_factory=list, description="Set by scanner rules")
    created_at: datetime
    updated_at: datetime
    version: int = 1


class Ticket(TicketSummary):
    article_count: int = 0


class Address(BaseModel):
    model_config = OUTPUT

    name: str = ""
    email: str = ""


class ArticleAttachment(BaseModel):
    model_config = OUTPUT

    id: str
    filename: str
    content_type: str
    size: int
    inline: bool = False
    content_id: str | None = Field(None, description="What a cid: URL in the HTML names")
    download_url: str | None = Field(None, description="A presigned download, valid a few minutes")


class ArticleDelivery(BaseModel):
    """One mail an outbound article sent (one per recipient: the email service sends to one address a mail)."""

    model_config = OUTPUT

    to: str
    message_id: str = Field(description="The mail's Message-ID header (an answer naming it threads to the ticket)")
    status: str = Field(
        "queued",
        description="What the email service reports of the mail: queued, then sent (handed to the mail server), "
        "then delivered, bounced or rejected; or failed, skipped (the contact was erased), suppressed (the "
        "address bounced or complained before) or opted_out when it was not sent",
    )
    at: datetime | None = Field(None, description="When the mail reached its status (none while queued)")
    sent_at: datetime | None = Field(None, description="When the mail server took it")
    bounce_type: str | None = Field(None, description="hard or soft, for a bounced mail")
    reason: str | None = Field(None, description="Why a rejected or failed mail did not go")


class ArticleSummary(BaseModel):
    """An article in a list: who wrote what when (its bodies at `GET /tickets/{id}/articles/{article_id}`)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    ticket_id: str
    kind: str = Field(description="inbound_mail, outbound_mail (a reply) or note")
    internal: bool = Field(False, description="An internal note: never mailed")
    author_id: str | None = Field(None, description="The user who wrote a reply or a note")
    message_id: str | None = None
    from_: list[Address] = Field(default_factory=list, alias="from", serialization_alias="from")
    to: list[Address] = Field(default_factory=list)
    cc: list[Address] = Field(default_factory=list)
    subject: str = ""
    created_at: datetime
    version: int = 1


class Article(ArticleSummary):
    text: str = ""
    new_text: str = Field("", description="What this mail adds: the text without the quoted history")
    html: str | None = Field(None, description="The sanitised HTML body (no scripts, no remote images loaded)")
    truncated: bool = Field(False, description="The bodies were longer than an article keeps (the attachment has all)")
    unparsable: bool = Field(False, description="The mail could not be parsed: its source is the attachment")
    automatic: list[str] = Field(
        default_factory=list,
        description="Why the mail was sent by a machine (an auto-reply, a list, a bounce ...): it is never "
        "answered automatically. Empty: a person wrote it",
    )
    attachments: list[ArticleAttachment] = Field(default_factory=list)
    delivery: list[ArticleDelivery] = Field(default_factory=list, description="A reply's mails and their status")


class TicketAttachmentRef(BaseModel):
    """An attachment of one of the ticket's own articles, sent again with a reply."""

    model_config = INPUT

    article_id: str = Field(min_length=1, max_length=64)
    attachment_id: str = Field(min_length=1, max_length=64)


MAX_TEXT = 64 * 1024


class TicketReplyCreate(BaseModel):
    model_config = INPUT

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="The reply's plain text")
    html: str | None = Field(None, max_length=2 * MAX_TEXT, description="An HTML version (sanitised before it goes)")
    cc: list[Email] = Field(default_factory=list, max_length=10, description="Others who get the reply too")
    attachments: list[TicketAttachmentRef] = Field(
        default_factory=list, max_length=10, description="Attachments of the ticket's own articles to send along"
    )
    status: TicketStatus | None = Field(
        None, description="The ticket's new status with the reply (pending, solved ...)"
    )

    _not_null = field_validator("html", "status")(reject_null)


class TicketNoteCreate(BaseModel):
    model_config = INPUT

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    internal: bool = Field(
        True,
        description="An internal note (never mailed); false: a public comment, which the change notifications "
        "mail to the requester when the tenant has them on",
    )


class TicketNotifications(BaseModel):
    """The "change comments" notifications: mail to a ticket's requester on its status changes and public comments."""

    model_config = OUTPUT

    enabled: bool = Field(False, description="Mail the requester on status changes and public comments")
    on_status: bool = Field(True, description="On a status change")
    on_comment: bool = Field(True, description="On a public comment (a note that is not internal)")
    subject: str = Field(description="The subject; {number}, {subject}, {status} are filled in")
    text: str = Field(description="The body; {number}, {subject}, {status}, {comment} are filled in")
    version: int = 1


class TicketNotificationsUpdate(BaseModel):
    model_config = INPUT

    enabled: bool | None = None
    on_status: bool | None = None
    on_comment: bool | None = None
    subject: str | None = Field(None, min_length=1, max_length=300, pattern=r"^[^\r\n]*$")
    text: str | None = Field(None, min_length=1, max_length=8000)

    _not_null = field_validator("enabled", "on_status", "on_comment", "subject", "text")(reject_null)
