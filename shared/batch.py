"""SQS batches through Powertools' batch processor: each message's JSON body to a handler, with
partial batch failures (only the messages that failed go back to the queue)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger

Handle = Callable[[dict[str, Any]], None]


def each_body(
    event: dict[str, Any], context: LambdaContext, handle: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Hand each SQS message's JSON body to `handle`; a message whose handling raises is retried alone."""

    def record_handler(record: SQSRecord) -> None:
        try:
            handle(json.loads(record.body))
        except Exception:  # logged here: the batch processor only reports the message as failed
            logger.exception("message failed", extra={"message_id": record.message_id})
            raise

    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )


def run_jobs(
    event: dict[str, Any], context: LambdaContext, run_job: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """A jobs queue's batch (messages from Scheduler schedules), each job logged under its name."""

    def run(message: dict[str, Any]) -> None:
        with logger.append_context_keys(job=message.get("job")):
            run_job(message)

    return each_body(event, context, run)
