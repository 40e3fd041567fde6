"""The access service's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.access.handlers.routes import ROUTERS
from services.access.settings import AccessSettings
from shared import api as http
from shared.entry import entry

app = http.create_app("Kontakt access", "access", ROUTERS)


@entry(AccessSettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
