"""Contact orders [003]: the notes log of an order."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import order_notes
from services.activities.domain.order_notes import Note, NoteCreate, NoteSummary
from services.activities.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit

router = APIGatewayHttpRouter()


@router.post("/contact-orders/<order_id>/notes", status_code=201)
def add_note(order_id: Id, body: Annotated[NoteCreate, Body()]) -> Note:
    return order_notes.add_note(caller(router), order_id, body)


@router.get("/contact-orders/<order_id>/notes")
def list_notes(order_id: Id, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[NoteSummary]:
    """The notes log, oldest first, each note as its first characters (its own GET has it whole)."""
    return order_notes.list_notes(caller(router), order_id, cursor, limit)


@router.get("/contact-orders/<order_id>/notes/<note_id>")
def get_note(order_id: Id, note_id: Id) -> Note:
    return order_notes.get_note(caller(router), order_id, note_id)
