"""Records SES feedback (deliveries, bounces, complaints, opens, clicks) from the feedback queue.

Each SQS message is an EventBridge event from SES (`source: aws.ses`, the configuration set's
destination), tagged with our tenant and message id; partial batch failures.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email.feedback import BODIES, apply_batch, handle_event
from services.email.settings import EmailSettings
from shared import batch_scope
from shared.batch import each_body
from shared.entry import entry


@entry(EmailSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The batch's reads are one BatchGet and its reports one transaction (services/email/feedback.py
    `prefetch`, `apply_batch`); what that leaves, each report by itself."""
    records = event.get("Records") or []
    bodies = []
    for record in records:
        try:
            bodies.append(json.loads(record.get("body") or "null"))
        except ValueError:
            bodies.append(None)  # the report's own handling fails it
    with batch_scope.batch():
        batch_scope.kept(BODIES, lambda: bodies)
        done = apply_batch(bodies)
        rest = [record for index, record in enumerate(records) if index not in done]
        if not rest:
            return {"batchItemFailures": []}
        return each_body({**event, "Records": rest}, context, handle_event)
