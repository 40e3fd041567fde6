"""SQS batches with partial batch failures: each message to a handler, and only the messages that
failed go back to the queue.

`partial_response` answers as Powertools' `BatchProcessor(EventType.SQS)` with
`process_partial_response` does (`{"batchItemFailures": [...]}`; Powertools' `BatchProcessingError`
when every message failed, so that Lambda retries the whole batch), without importing Powertools'
batch utility: with pydantic loaded, that imports every event source's parser models and data
classes, ~50 ms of every SQS function's cold start (docs/decisions.md, "Cold start").
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.observability import logger

Handle = Callable[[dict[str, Any]], None]


class SQSRecord(dict[str, Any]):
    """One message of an SQS event (the Lambda event's record), with the names Powertools' `SQSRecord` gives it."""

    @property
    def body(self) -> str:
        return str(self["body"])

    @property
    def message_id(self) -> str:
        return str(self["messageId"])

    @property
    def raw_event(self) -> dict[str, Any]:
        return self


def partial_response(
    event: dict[str, Any], record_handler: Callable[[SQSRecord], Any], *, raise_on_entire_batch_failure: bool = True
) -> dict[str, Any]:
    """Hand each message of an SQS event to `record_handler`; the messages whose handling raised are
    the batch's item failures. When every message failed (and `raise_on_entire_batch_failure`),
    Powertools' `BatchProcessingError`, listing each failure, fails the invocation instead."""
    records = event.get("Records") or []
    if not isinstance(records, list):
        raise ValueError("Invalid event format: an SQS event has a list of Records.")
    failed: list[str] = []
    errors: list[Any] = []
    for raw in records:
        record = SQSRecord(raw)
        try:
            record_handler(record)
        except Exception:
            failed.append(record.message_id)
            errors.append(sys.exc_info())
    if failed and len(failed) == len(records) and raise_on_entire_batch_failure:
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError  # only when it is raised

        message = f"All records failed processing. {len(errors)} individual errors logged separately below."
        raise BatchProcessingError(msg=message, child_exceptions=errors)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def whole_batch(event: dict[str, Any], handle_all: Callable[[list[Any]], list[Exception | None]]) -> dict[str, Any]:
    """Hand the bodies of every message of an SQS event to `handle_all` at once (a sender reads,
    claims and records its batch together); the messages it answers an error for (None: done) are
    the batch's item failures. Every message failing is an answer too, not an error: each may
    only have to wait (the send rate, a proof)."""
    records = event.get("Records") or []
    errors = handle_all([record.get("body") for record in records])
    failed = {str(r.get("messageId")): e for r, e in zip(records, errors, strict=True) if e is not None}

    def outcome(record: SQSRecord) -> None:
        error = failed.get(record.message_id)
        if error is not None:
            raise error

    return partial_response(event, outcome, raise_on_entire_batch_failure=False)


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

    return partial_response(event, record_handler)


def run_jobs(
    event: dict[str, Any], context: LambdaContext, run_job: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """A jobs queue's batch (messages from Scheduler schedules), each job logged under its name."""

    def run(message: dict[str, Any]) -> None:
        with logger.append_context_keys(job=message.get("job")):
            run_job(message)

    return each_body(event, context, run)
