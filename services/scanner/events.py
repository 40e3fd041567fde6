"""Events the scanner service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
Webhooks and workflows will consume these; until one does they are the scanner's own.
"""

from typing import Any

from pydantic import BaseModel, Field

from shared.contracts.tickets import NewRequester
from shared.events import catalogue

PRODUCER = "scanner"


class TicketCreated(BaseModel):
    id: str
    ticket: dict[str, Any] = Field(description="The ticket as `GET /tickets/{id}` shows it")
    article_id: str = Field(description="The article (the inbound mail) that opened it")
    new_contact: NewRequester | None = Field(
        None, description="A scanner rule asked for a contact for the sender: the directory creates it with this id"
    )


class TicketUpdated(BaseModel):
    id: str
    ticket: dict[str, Any] = Field(description="The ticket after the change, as `GET /tickets/{id}` shows it")
    changed: list[str] = Field(
        description="The fields that changed: status, priority, owner (a user's change); article_count (a mail "
        "answering the ticket was added to it), with status when that reopened it; articles (a contact's erasure "
        "took the person out of the ticket's articles), with requester_contact_id, requester_email and subject "
        "when the person was its requester"
    )


class TicketReplied(BaseModel):
    id: str
    ticket: dict[str, Any] = Field(description="The ticket after the reply, as `GET /tickets/{id}` shows it")
    article_id: str = Field(description="The reply's article (kind outbound_mail)")
    to: list[str] = Field(description="The addresses it was mailed to (the requester first, then the Cc)")
    message_ids: list[str] = Field(description="The Message-ID of each mail, in the order of `to`")


class TicketClosed(BaseModel):
    id: str
    ticket: dict[str, Any] = Field(description="The ticket, closed, as `GET /tickets/{id}` shows it")


catalogue.register(
    "ticket.created",
    TicketCreated,
    producer=PRODUCER,
    description="A ticket was opened (an inbound mail to a mailbox).",
)
catalogue.register(
    "ticket.updated",
    TicketUpdated,
    producer=PRODUCER,
    description="A ticket's status, priority or owner changed, or a mail answering it was added.",
)
catalogue.register(
    "ticket.replied",
    TicketReplied,
    producer=PRODUCER,
    description="An agent's reply to a ticket went to the email service for its requester (and Cc).",
)
catalogue.register(
    "ticket.closed",
    TicketClosed,
    producer=PRODUCER,
    description="A ticket's status became closed (besides its ticket.updated).",
)
