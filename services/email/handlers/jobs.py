"""Runs the jobs that schedules put on the email jobs queue (scheduled campaigns, automatic emails)."""

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email import features  # noqa: F401  (registers every subscription and job)
from services.email.settings import EmailSettings
from services.email.subscriptions import run_job
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table


@cache
def _cold_start() -> None:
    bind_table(load(EmailSettings).table_name)


def _run(record: SQSRecord) -> None:
    message = json.loads(record.body)
    with logger.append_context_keys(job=message.get("job")):
        run_job(message)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(process_partial_response(event=event, record_handler=_run, processor=processor, context=context))
