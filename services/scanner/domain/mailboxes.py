"""Mailboxes: the addresses the scanner watches, each one tenant's (what a client sends and gets back)."""

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from shared.types import INPUT, OUTPUT, Email, HeaderText200, Name200, Owner, reject_null


def normalised(address: str) -> str:
    """An address as the mailbox lookup keys it: trimmed and lower case (the local part too: mail
    servers compare it so in practice, and one spelling must not make two mailboxes)."""
    return address.strip().lower()


class AutoReply(BaseModel):
    """The acknowledgement a mailbox sends when a person's mail opens a ticket (never to automatic mail)."""

    model_config = INPUT

    enabled: bool = False
    subject: HeaderText200 = Field("We received your message", description="The ticket's tag is added to it")
    body: str = Field(
        "Thank you for your message. We will answer it as soon as we can.", min_length=1, max_length=10000
    )


class MailboxCreate(BaseModel):
    model_config = INPUT

    address: Email = Field(description="The address mail arrives at; one mailbox per address in the whole stack")
    name: Name200
    owner: Owner = Field(description="Who owns the tickets the mailbox opens (a user or a group)")
    active: bool = Field(True, description="An inactive mailbox opens no tickets (its mail is dropped)")
    auto_reply: AutoReply = Field(default_factory=AutoReply)


class MailboxPatch(BaseModel):
    model_config = INPUT

    address: Email | None = None
    name: Name200 | None = None
    owner: Owner | None = None
    active: bool | None = None
    auto_reply: AutoReply | None = None

    _not_null = field_validator("address", "name", "owner", "active", "auto_reply")(reject_null)


class Mailbox(BaseModel):
    model_config = OUTPUT

    id: str
    address: str
    name: str
    owner: Owner
    active: bool = True
    auto_reply: AutoReply = Field(default_factory=AutoReply)
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


class RawMessage(BaseModel):
    """A raw RFC 5322 message for a mailbox, base64 encoded (imports, tests)."""

    model_config = INPUT

    raw: str = Field(
        min_length=4,
        max_length=256 * 1024,
        pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        description="The message's bytes, base64 encoded without line breaks (the request body holds at most 256 KB)",
    )


class RawAccepted(BaseModel):
    model_config = OUTPUT

    id: str = Field(description="The stored message's id; the ticket appears once the scanner processed it")
    mailbox_id: str
