"""Tickets: each user sees and changes the tickets they (or their groups) own; managers and admins all."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.scanner import replies, tickets
from services.scanner.domain.tickets import (
    Article,
    ArticleSummary,
    Ticket,
    TicketNoteCreate,
    TicketPatch,
    TicketReplyCreate,
    TicketStatus,
)
from services.scanner.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, answers

router = APIGatewayHttpRouter()

StatusQuery = Annotated[TicketStatus | None, Query(description="Only tickets in this status")]


@router.get("/tickets")
@answers(301)  # a merged contact's id: the same list on the survivor
def list_tickets(
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    status: StatusQuery = None,
    owner_id: OptIdQuery = None,
    mailbox_id: OptIdQuery = None,
    contact_id: OptIdQuery = None,
) -> Page[Ticket]:
    return tickets.list_tickets(caller(router), cursor, limit, status, owner_id, mailbox_id, contact_id)


@router.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: Id) -> Ticket:
    return tickets.get_ticket(caller(router), ticket_id)


@router.patch("/tickets/<ticket_id>")
def change_ticket(ticket_id: Id, body: Annotated[TicketPatch, Body()]) -> Ticket:
    return tickets.change_ticket(caller(router), ticket_id, body)


@router.get("/tickets/<ticket_id>/articles")
def list_articles(ticket_id: Id, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[ArticleSummary]:
    return tickets.list_articles(caller(router), ticket_id, cursor, limit)


@router.get("/tickets/<ticket_id>/articles/<article_id>")
def get_article(ticket_id: Id, article_id: Id) -> Article:
    return tickets.get_article(caller(router), ticket_id, article_id)


@router.post("/tickets/<ticket_id>/replies", status_code=201)
def create_reply(ticket_id: Id, body: Annotated[TicketReplyCreate, Body()]) -> Article:
    return replies.reply(caller(router), ticket_id, body)


@router.post("/tickets/<ticket_id>/notes", status_code=201)
def create_note(ticket_id: Id, body: Annotated[TicketNoteCreate, Body()]) -> Article:
    return replies.add_note(caller(router), ticket_id, body)
