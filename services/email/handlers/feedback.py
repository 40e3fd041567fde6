"""Records SES feedback (deliveries, bounces, complaints, opens, clicks) from the feedback queue.

Each SQS message is an EventBridge event: from SES (`source: aws.ses`) or our own `email.sent`
(which names the tenant of a message id); partial batch failures.
"""

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email import features  # noqa: F401  (registers every feature and event)
from services.email.feedback import handle_event
from services.email.settings import EmailSettings
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table


@cache
def _cold_start() -> None:
    bind_table(load(EmailSettings).table_name)


def _record(record: SQSRecord) -> None:
    handle_event(json.loads(record.body))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
