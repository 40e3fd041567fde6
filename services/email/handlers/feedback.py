"""Records SES feedback (deliveries, bounces, complaints, opens, clicks) from the feedback queue.

Each SQS message is an EventBridge event from SES (`source: aws.ses`, the configuration set's
destination), tagged with our tenant and message id; partial batch failures.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email.feedback import BODIES, handle_event
from services.email.settings import EmailSettings
from shared import batch_scope
from shared.entry import bodies_entry

_each = bodies_entry(EmailSettings, handle_event)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each report; the batch's reads are one BatchGet (services/email/feedback.py `prefetch`)."""
    bodies = []
    for record in event.get("Records") or []:
        try:
            bodies.append(json.loads(record.get("body") or "null"))
        except ValueError:
            continue  # the report's own handling fails it
    with batch_scope.batch():
        batch_scope.kept(BODIES, lambda: bodies)
        return _each(event, context)
