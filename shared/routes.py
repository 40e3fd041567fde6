"""What every service's route modules share: path and query parameter types, the caller of a request, 204.

One definition here, so that an id, a cursor and a page size mean the same in every service's API
and its OpenAPI document.
"""

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import AwareDatetime, StringConstraints

from shared.api import ANSWERS_ATTRIBUTE, LOCATED_ATTRIBUTE
from shared.auth import from_http_event
from shared.pagination import MAX_LIMIT
from shared.secrets import signing_key
from shared.service import Caller
from shared.types import CODE_PATTERN

ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"

Id = Annotated[str, Path(pattern=ID_PATTERN)]
Cursor = Annotated[str | None, Query(max_length=2048)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
OptIdQuery = Annotated[str | None, Query(pattern=ID_PATTERN)]
OptCodeQuery = Annotated[str | None, Query(pattern=CODE_PATTERN)]
# The item of an array query parameter of codes. An array parameter is typed `list[...]` (never a
# string the route splits): API Gateway's HTTP API (payload 2.0) joins a repeated parameter with
# commas in `queryStringParameters` (`s=a&s=b` arrives as `s: "a,b"`, as `s=a,b` does) and the
# resolver splits a list parameter's value at the commas, so both forms read alike. A string
# parameter split by the route failed on the repeated form: Powertools sees the repetition in
# `rawQueryString` and hands a string parameter a list (422). At most `MAX_ITEMS` items.
CodeItem = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
IdItem = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
MAX_ITEMS = 100
# A batch read of a list (`GET /contacts?ids=a,b`): the records that exist and the caller may see,
# in the order asked; the others are left out.
# A list's filter by the start of a name (`shared/lookup.py`: it lists in name order) and its order.
NamePrefix = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="The start of the name, case-insensitive; lists in name order"),
]
Order = Annotated[Literal["asc", "desc"], Query(description="Ascending (the default) or descending")]
SortByName = Annotated[
    Literal["id", "name"] | None,
    Query(
        description="id (the default, and the order of every exact filter) or name (the order of a `name` filter); "
        "a sort the filter's index does not serve is a 400 naming `query.sort`"
    ),
]
Ids = Annotated[
    list[IdItem] | None,
    Query(max_length=MAX_ITEMS, description="Read these records (comma separated or repeated; absent ones left out)"),
]

# Incremental sync (docs/api.md "Sync"): every list of a kind's records takes it (`kind_page`,
# `sync_page`) and answers the records written at or after it, oldest change first, and in the
# page's `deleted` the ids of records deleted since (tombstones, kept 30 days). A time with an
# offset (`Z` for UTC); it takes no filter or sort (400 `unsupported_combination`).
UpdatedSince = Annotated[
    AwareDatetime | None,
    Query(
        description=(
            "Sync: only the records changed at or after this time (with an offset, e.g. `Z`), in the order "
            "of their last change (oldest first), and in `deleted` the records deleted since then (kept "
            "30 days). Takes no filter or sort. Ask again from a minute before the latest `updated_at` or "
            "`deleted_at` you received: an item you have is sent again, none is missed."
        )
    ),
]

C = TypeVar("C", bound=Caller)
F = TypeVar("F", bound=Callable[..., object])


def answers(*statuses: int) -> Callable[[F], F]:
    """Declare the error statuses a handler answers beyond those the kernel derives from its route
    (`shared.api.operation_answers`: login, body, parameters, path id, write), for its OpenAPI
    document: e.g. `@answers(404)` on a route without a path id that looks a record up, `@answers(503)`
    on one that needs the scheduler. Put it below the route decorator.
    """

    def declare(handler: F) -> F:
        setattr(handler, ANSWERS_ATTRIBUTE, frozenset(statuses))
        return handler

    return declare


def located(template: str) -> Callable[[F], F]:
    """Declare where the record a 201 route creates is read, when the kernel cannot tell
    (`shared.conventions.created_location`: by default `<path>/<id>`): `{name}` is a path parameter
    or a body field (`{attachment.id}` a nested one), e.g. `@located("/activities/{id}")` on a route
    under another path. Put it below the route decorator.
    """

    def declare(handler: F) -> F:
        setattr(handler, LOCATED_ATTRIBUTE, template)
        return handler

    return declare


def request_caller(router: BaseRouter, caller_type: type[C], setting: str | None = None) -> C:
    """The caller of the current request, from the verified token, its tenant opened (`Caller.open`).

    `setting`: the tenant setting a settings route reads or writes, the request's target
    (`Caller.address_setting`: If-Match is evaluated on it, its version is the answer's ETag).
    """
    current = caller_type(auth=from_http_event(router.current_event.raw_event), signing_key=signing_key())  # type: ignore[call-arg]
    current.open()
    if setting is not None:
        current.address_setting(setting)
    return current


def no_content() -> Response[None]:
    return Response(status_code=204, body=None)
