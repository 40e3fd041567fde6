"""The audit service's HTTP API (API Gateway HTTP API, payload 2.0), routed by Powertools.

An API key refused here for want of a permission is recorded straight into the trail (the service
has no outbox: it is where events end), at most once a minute per key and reason (shared/refusals.py).
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.audit.handlers.routes import ROUTERS
from services.audit.settings import AuditSettings
from shared import api as http
from shared.entry import entry
from shared.events import Envelope


def _record(envelope: Envelope) -> None:
    from services.audit.trail import record_now  # only when a key is refused

    record_now(envelope)


app = http.create_app("Kontakt audit", "audit", ROUTERS, record_refusal=_record)


@entry(AuditSettings, http=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
