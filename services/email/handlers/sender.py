"""Sends the mails queued on the send queue, one SQS message per mail, with partial batch failures."""

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email import features  # noqa: F401  (registers every feature)
from services.email.sending import send_queued
from services.email.settings import EmailSettings
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table


@cache
def _cold_start() -> None:
    bind_table(load(EmailSettings).table_name)


def _send(record: SQSRecord) -> None:
    send_queued(json.loads(record.body))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(process_partial_response(event=event, record_handler=_send, processor=processor, context=context))
