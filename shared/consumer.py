"""Idempotent consumption of events from a service's SQS queue.

Powertools' BatchProcessor reports partial failures so only failed messages return. Each event's
effects commit in one transaction with a dedupe marker for (consumer, event id): a redelivered
event finds the marker, the transaction is cancelled, and nothing changes twice.
"""

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.events import Envelope
from shared.observability import logger
from shared.store import AlreadyApplied, DedupeItem, UnitOfWork

Handle = Callable[[Envelope, UnitOfWork], None]


def envelope_of(record: SQSRecord) -> Envelope:
    """The envelope in an SQS message that an EventBridge rule delivered."""
    body = json.loads(record.body)
    return Envelope.model_validate(body["detail"])


def already_applied(consumer: str, event_id: str) -> bool:
    try:
        DedupeItem.get(DedupeItem.key(consumer, event_id), "DEDUPE", consistent_read=True)
    except DedupeItem.DoesNotExist:
        return False
    return True


def apply_once(consumer: str, envelope: Envelope, handle: Handle) -> bool:
    """Apply one event with its dedupe marker; False when an earlier delivery already had."""
    if already_applied(consumer, envelope.id):
        return False
    uow = UnitOfWork()
    handle(envelope, uow)
    uow.mark_applied(consumer, envelope.id)
    try:
        uow.commit()
    except AlreadyApplied:
        return False
    return True


def consume(
    event: dict[str, Any], context: LambdaContext, consumer: str, handlers: dict[str, Handle]
) -> dict[str, Any]:
    """Process an SQS batch of bus events, routing each by type to its handler."""

    def record_handler(record: SQSRecord) -> None:
        try:
            envelope = envelope_of(record)
        except Exception:  # logged here: the batch processor only reports the message as failed
            logger.exception("event unreadable", extra={"message_id": record.message_id})
            raise
        handle = handlers.get(envelope.type)
        if handle is None:
            logger.warning("no handler for event type", extra={"event_type": envelope.type})
            return
        with logger.append_context_keys(
            event_id=envelope.id,
            event_type=envelope.type,
            correlation_id=envelope.correlation_id,
            tenant_id=envelope.tenant_id,
        ):
            try:
                applied = apply_once(consumer, envelope, handle)
            except Exception:  # with the event's keys and correlation id; the queue delivers it again
                logger.exception("event failed")
                raise
            logger.info("event applied" if applied else "event already applied, skipped")

    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
