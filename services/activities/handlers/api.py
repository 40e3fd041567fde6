"""The activities service's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.activities.handlers.routes import (
    activities,
    admin,
    calendar,
    call_list,
    contact_orders,
    goals,
    marketing,
    mass,
    settings,
)
from services.activities.settings import ActivitiesSettings
from shared import api as http
from shared.entry import entry

TITLE = "Kontakt activities"

app = http.create_app(TITLE, "activities")


@app.get("/activities/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


for _module in (activities, admin, call_list, contact_orders, goals, marketing, mass, calendar, settings):
    app.include_router(_module.router)


def openapi_json() -> str:
    return app.get_openapi_json_schema(title=TITLE, version=http.API_VERSION)


@entry(ActivitiesSettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
