"""The directory's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.directory.handlers.routes import (
    accounts,
    classes,
    contacts,
    groups,
    imports,
    picklists,
    settings,
    target_groups,
    users,
)
from services.directory.settings import DirectorySettings
from shared import api as http
from shared.entry import entry

TITLE = "Kontakt directory"

app = http.create_app(TITLE, "directory")


@app.get("/directory/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


for _module in (accounts, contacts, users, groups, picklists, settings, classes, target_groups, imports):
    app.include_router(_module.router)


def openapi_json() -> str:
    return app.get_openapi_json_schema(title=TITLE, version=http.API_VERSION)


@entry(DirectorySettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
