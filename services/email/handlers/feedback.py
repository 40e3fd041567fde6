"""Records SES feedback (deliveries, bounces, complaints, opens, clicks) from the feedback queue.

Each SQS message is an EventBridge event from SES (`source: aws.ses`, the configuration set's
destination), tagged with our tenant and message id; partial batch failures.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email import features  # noqa: F401  (registers every feature and event)
from services.email.feedback import handle_event
from services.email.settings import EmailSettings
from shared.batch import each_body
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table


@cache
def _cold_start() -> None:
    bind_table(load(EmailSettings).table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    return each_body(event, context, handle_event)
