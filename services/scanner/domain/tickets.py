"""Tickets and their articles: what a client sends and gets back."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.types import INPUT, OUTPUT, Code, Owner, reject_null


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


class ArticleSummary(BaseModel):
    """An article in a list: who wrote what when (its bodies at `GET /tickets/{id}/articles/{article_id}`)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    ticket_id: str
    kind: str = Field(description="inbound_mail")
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
