"""The email service's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools."""

import importlib
import pkgutil
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email.handlers import routes
from services.email.settings import EmailSettings
from shared import api as http
from shared.entry import entry

TITLE = "Kontakt email"

app = http.create_app(TITLE, "email", form_paths=("/u/",))  # the one-click unsubscribe POST is a form


@app.get("/email/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


# Every module under handlers/routes/ holds one feature's router.
for _info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
    app.include_router(importlib.import_module(f"{routes.__name__}.{_info.name}").router)


def openapi_json() -> str:
    return app.get_openapi_json_schema(title=TITLE, version=http.API_VERSION)


@entry(EmailSettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
