"""The outbox publisher: a table's stream puts its outbox items on the event bus.

Commands never call PutEvents: they write outbox items in their transaction (see store.py), and
this function, driven by the table's stream, publishes them in batches of 10. A failed entry
fails the batch from that record on, so the stream delivers it again; consumers dedupe.
"""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from shared.events import Envelope
from shared.observability import logger, metrics
from shared.settings import FunctionSettings, load

PUT_EVENTS_BATCH = 10


class PublisherSettings(FunctionSettings):
    event_source: str = Field(pattern=r"^kontakt\.[a-z_]+$")


class PublishFailed(Exception):
    pass


@cache
def _events_client() -> Any:
    return boto3.client("events")


def entry(envelope: Envelope, settings: PublisherSettings) -> dict[str, Any]:
    return {
        "Source": settings.event_source,
        "DetailType": envelope.type,
        "Detail": envelope.model_dump_json(),
        "EventBusName": settings.event_bus_name,
        "Time": envelope.occurred_at,
    }


def _outbox_envelope(record: DynamoDBRecord) -> Envelope | None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("kind") != "outbox":
        return None
    return Envelope.model_validate_json(image["envelope"])


def publish(records: list[DynamoDBRecord], settings: PublisherSettings) -> list[str]:
    """Publish the outbox records; the sequence numbers to retry from (empty when all went out)."""
    pending = [(r, env) for r in records if (env := _outbox_envelope(r)) is not None]
    for start in range(0, len(pending), PUT_EVENTS_BATCH):
        batch = pending[start : start + PUT_EVENTS_BATCH]
        response = _events_client().put_events(Entries=[entry(env, settings) for _, env in batch])
        failed = response.get("FailedEntryCount", 0)
        if failed:
            logger.error("put_events failed", extra={"failed": failed, "entries": response.get("Entries")})
            metrics.add_metric(name="OutboxPublishFailed", unit="Count", value=failed)
            first = batch[0][0].dynamodb
            return [first.sequence_number] if first and first.sequence_number else ["0"]
        metrics.add_metric(name="EventsPublished", unit="Count", value=len(batch))
        for _, env in batch:
            logger.info("published", extra={"event_type": env.type, "event_id": env.id})
    return []


@metrics.log_metrics
@logger.inject_lambda_context
def publisher_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load(PublisherSettings)
    retry_from = publish(list(DynamoDBStreamEvent(event).records), settings)
    # ReportBatchItemFailures: the stream resumes from the first failed record.
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in retry_from]}
