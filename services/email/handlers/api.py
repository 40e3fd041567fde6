"""The email service's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email.handlers.routes import ROUTERS
from services.email.settings import EmailSettings
from shared import api as http
from shared.entry import entry

# the one-click unsubscribe POST (`/u/{token}`) is a form
app = http.create_app("Kontakt email", "email", ROUTERS, form_paths=("/u/",))


@entry(EmailSettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
