"""Sent mails [issue 5 item 5]: a contact's mail history and one mail's status."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import transactional
from services.email.domain.messages import Message
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit

router = APIGatewayHttpRouter()

ContactIdQuery = Annotated[str, Query(pattern=r"^[0-9A-Za-z_-]{1,64}$")]


@router.get("/email/messages")
def list_messages(contact_id: ContactIdQuery, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[Message]:
    """The mails sent (or refused) to a contact, newest first."""
    return transactional.list_messages(caller(router), contact_id, cursor, limit)


@router.get("/email/messages/<message_id>")
def get_message(message_id: Id) -> Message:
    return transactional.get_message(caller(router), message_id)
