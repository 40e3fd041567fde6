"""CSV imports of accounts and contacts: a job, its upload URL, its rows' outcomes."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.directory import imports
from services.directory.handlers.common import caller
from services.directory.settings import DirectorySettings
from shared.pagination import DEFAULT_LIMIT, Page
from shared.routes import Cursor, Id, Limit
from shared.settings import load

router = APIGatewayHttpRouter()


@router.post("/imports", status_code=201)
def create_import(body: Annotated[imports.ImportRequest, Body()]) -> imports.ImportJob:
    return imports.create_job(caller(router), body, load(DirectorySettings).imports_bucket)


@router.get("/imports/<import_id>")
def get_import(import_id: Id) -> imports.ImportJob:
    return imports.get_job(caller(router), import_id)


@router.get("/imports/<import_id>/rows")
def list_import_rows(
    import_id: Id,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    outcome: Annotated[imports.Outcome | None, Query(description="Only the rows of this outcome")] = None,
) -> Page[imports.RowReport]:
    return imports.list_rows(caller(router), import_id, cursor, limit, outcome)
