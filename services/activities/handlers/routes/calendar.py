"""The calendar (JSON), the secret iCalendar feed and its URL, and the to-do list."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import AwareDatetime

from services.activities import calendar, todo
from services.activities.calendar import CalendarFeed
from services.activities.domain.calendar import CalendarEntry
from services.activities.handlers.common import caller
from services.activities.todo import TodoItem
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Limit, OptIdQuery, no_content
from shared.secrets import signing_key

router = APIGatewayHttpRouter()

From = Annotated[AwareDatetime, Query(alias="from", description="Start of the range (inclusive), with a zone")]
To = Annotated[
    AwareDatetime,
    Query(
        description="End of the range (exclusive): after from, at most 366 days on (422 invalid_range, range_too_long)"
    ),
]
FeedToken = Annotated[str, Path(max_length=200, description="The secret token of the feed URL, then .ics")]

ICS_HEADERS = {
    "Cache-Control": "private, max-age=300",
    "Content-Disposition": 'inline; filename="kontakt.ics"',
}


def _base_url() -> str:
    """The URL the client called us at, to build the feed URL with (API Gateway sets x-forwarded-proto)."""
    headers = router.current_event.headers or {}
    host = headers.get("host") or router.current_event.request_context.domain_name
    local = host.startswith(("127.0.0.1", "localhost"))
    scheme = headers.get("x-forwarded-proto") or ("http" if local else "https")
    return f"{scheme}://{host}"


@router.get("/todo")
def get_todo(user_id: OptIdQuery = None, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[TodoItem]:
    """The caller's open tasks, bookings and assigned contact orders by due time (managers: anyone's)."""
    return todo.todo(caller(router), user_id, cursor, limit)


@router.get("/calendar")
def get_calendar(
    start: From,
    to: To,
    user_id: OptIdQuery = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[CalendarEntry]:
    """The caller's events and bookings starting in [from, to) (managers: anyone's), by start time."""
    return calendar.calendar(caller(router), start, to, user_id, cursor, limit)


@router.post("/calendar-feeds", status_code=201)
def create_calendar_feed() -> CalendarFeed:
    """A new secret feed URL for the caller's calendar; the previous URL stops working."""
    return calendar.create_feed(caller(router), _base_url())


@router.get("/calendar-feeds")
def get_calendar_feed() -> CalendarFeed:
    return calendar.get_feed(caller(router), _base_url())


@router.delete("/calendar-feeds")
def revoke_calendar_feed() -> Response[None]:
    calendar.revoke_feed(caller(router))
    return no_content()


@router.get(
    "/calendar/<feed>",
    security=[{}],
    responses={
        200: {
            "description": "The calendar as iCalendar text (RFC 5545)",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
        404: {
            "description": "No such feed: unknown, altered, rotated or revoked",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
)
def get_calendar_feed_ics(feed: FeedToken) -> Response[str]:
    """Public: the calendar behind a secret feed URL, for Google Calendar and Outlook (no token)."""
    body = calendar.feed_calendar(signing_key(), feed)
    return Response(
        status_code=200, content_type="text/calendar; charset=utf-8", body=body.decode(), headers=dict(ICS_HEADERS)
    )
