"""A campaign's recipients [issue 5 item 3]: listed with their statuses; contacts added by hand."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.email import campaign_recipients
from services.email.domain.campaign_recipients import ContactsAdd, ContactsAdded
from services.email.domain.messages import Message
from services.email.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit

router = APIGatewayHttpRouter()

StatusQuery = Annotated[str | None, Query(pattern=r"^(queued|sending|sent|failed|suppressed|opted_out|skipped)$")]


@router.get("/campaigns/<campaign_id>/recipients")
def list_recipients(
    campaign_id: Id, status: StatusQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[Message]:
    return campaign_recipients.list_recipients(caller(router), campaign_id, status, cursor, limit)


@router.post("/campaigns/<campaign_id>/contacts")
def add_contacts(campaign_id: Id, body: Annotated[ContactsAdd, Body()]) -> ContactsAdded:
    """Contacts added by hand: each gets the campaign's automatic template once."""
    return campaign_recipients.add_contacts(caller(router), campaign_id, body)
