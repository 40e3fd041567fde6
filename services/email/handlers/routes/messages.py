"""Sent mails [issue 5 item 5]: a contact's mail history and one mail's status."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.email import transactional
from services.email.domain.messages import Message, MessageFilter, MessageStatus
from services.email.handlers.common import caller
from shared.merges import redirect_if_merged
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit, OptIdQuery, answers

router = APIGatewayHttpRouter()

Since = Annotated[AwareDatetime | None, Query(alias="from", description="Created at or after (inclusive), with a zone")]
Until = Annotated[AwareDatetime | None, Query(alias="to", description="Created before (exclusive), with a zone")]
StatusQuery = Annotated[MessageStatus | None, Query(description="Only mails in this status")]


@router.get("/email/messages")
@answers(301)  # a merged contact's id: the same list on the survivor
def list_messages(
    contact_id: OptIdQuery = None,
    status: StatusQuery = None,
    campaign_id: OptIdQuery = None,
    template_id: OptIdQuery = None,
    since: Since = None,
    until: Until = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Message]:
    """The mails sent (or refused), newest first: the tenant's, or a contact's with `contact_id`.

    The time range is served by the index; status, campaign and template filter each page as it is
    read, so a filtered page may hold fewer than `limit` mails (even none) with a `next_cursor`:
    follow it until there is none. A user who does not see every contact gets the mails to contacts
    they may see (and mails to no contact).
    """
    filters = MessageFilter(
        contact_id=contact_id,
        status=status,
        campaign_id=campaign_id,
        template_id=template_id,
        since=since,
        until=until,
    )
    who = caller(router)
    redirect_if_merged(who.store, who.tenant, contact=contact_id)
    return transactional.list_messages(who, filters, cursor, limit)


@router.get("/email/messages/<message_id>")
def get_message(message_id: Id) -> Message:
    return transactional.get_message(caller(router), message_id)
