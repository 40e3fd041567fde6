"""The sms service's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.sms.handlers.routes import ROUTERS
from services.sms.settings import SmsSettings
from shared import api as http
from shared.entry import entry

app = http.create_app("Kontakt sms", "sms", ROUTERS)


@entry(SmsSettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
