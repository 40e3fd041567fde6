"""The query parameters the directory's lists share (services/directory/lookup.py serves them)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from shared.routes import NamePrefix, Order
from shared.routes import SortByName as Sort

EmailQuery = Annotated[
    str | None,
    Query(
        pattern=r"^\s*[^\s@]+@[^\s@]+\s*$",
        max_length=254,
        description="The email address, exactly (case-insensitive)",
    ),
]

__all__ = ["EmailQuery", "NamePrefix", "Order", "Sort"]
