"""The query parameters the directory's lists share (services/directory/lookup.py serves them)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

NamePrefix = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="The start of the name, case-insensitive; lists in name order"),
]
EmailQuery = Annotated[
    str | None,
    Query(
        pattern=r"^\s*[^\s@]+@[^\s@]+\s*$",
        max_length=254,
        description="The email address, exactly (case-insensitive)",
    ),
]
Order = Annotated[Literal["asc", "desc"], Query(description="Ascending (the default) or descending")]


Sort = Annotated[
    Literal["id", "name"] | None,
    Query(
        description="id (the default, and the order of every exact filter) or name (the order of a `name` filter); "
        "a sort the filter's index does not serve is a 400 naming `query.sort`"
    ),
]
