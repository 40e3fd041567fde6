"""Quick find: accounts and contacts by name, number, email or phone."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import lookup
from services.directory.handlers.common import caller
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Limit

router = APIGatewayHttpRouter()

SearchQuery = Annotated[
    str,
    Query(
        min_length=lookup.MIN_QUERY,
        max_length=200,
        description=f"Words to find (the first at least {lookup.MIN_QUERY} characters): the start of a name word, "
        "the number, the email or the phone's digits; every word must match the same record",
    ),
]


@router.get("/search")
def search(q: SearchQuery, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[lookup.SearchHit]:
    """Accounts and contacts the caller may see, ranked: exact term matches first (names and numbers
    before emails and phones), then matches by the start of a term, in term order."""
    return lookup.search(caller(router), q, cursor, limit)
