"""What the create routes of accounts and contacts take and answer about duplicates (issue 24)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from services.directory.duplicate_checks import DuplicateProblem, DuplicatesMode
from shared.api import PROBLEM_JSON

DuplicatesQuery = Annotated[
    DuplicatesMode,
    Query(
        description="`report` (default): create, and list the possible duplicates in the 201 body; "
        "`reject`: when there are any, create nothing and answer 409 listing them"
    ),
]

CREATE_RESPONSES: dict[int, OpenAPIResponse] = {
    201: {"description": "Created; `possible_duplicates` lists the records it may duplicate"},
    409: {
        "description": "With `duplicates=reject`: the record matches existing ones (`possible_duplicates`), "
        "nothing was created; or another writer changed a referenced record (reload, retry)",
        "content": {PROBLEM_JSON: {"model": DuplicateProblem}},
    },
}
