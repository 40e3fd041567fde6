"""The outbox publisher: a table's stream puts its outbox items on the event bus.

Commands never call PutEvents: they write outbox items in their transaction (see store.py), and
this function, driven by the table's stream, publishes them. A `PutEvents` call takes at most 10
entries and 1 MB in total (AWS's limit since 2026; 256 KB before), an entry's size counted as
EventBridge counts it (`entry_size`): a call over the size is refused whole (a ValidationException,
not a per-entry failure), so entries are packed by count and by size. Kontakt keeps to 256 KB a call:
each event travels on whole into SQS queues (1 MiB with the event's own fields) and Lambda batches
of up to 10 records (6 MB an invocation); docs/decisions.md. A failed entry fails the batch from
that call's first record on, so the stream delivers it again; consumers dedupe.

An entry that alone exceeds 256 KB is never published: it is logged, counted
(`OutboxEntryTooLarge`) and sent to the publisher's failure queue (its dead-letter queue, alarmed;
batches that fail every retry go to the stream's S3 on-failure destination instead) with what
identifies it, and the records after it go on.
Retrying it would hold the shard for every retry and then drop the records behind it with it.
"""

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from shared.entry import entry as function_entry
from shared.events import Envelope
from shared.observability import logger, metrics
from shared.settings import FunctionSettings, load

PUT_EVENTS_BATCH = 10
PUT_EVENTS_MAX_BYTES = 256 * 1024  # per call, the sum of its entries' sizes; so also per entry (AWS: 1 MB)
TIME_BYTES = 14  # EventBridge counts an entry's Time as 14 bytes, whatever its text


class PublisherSettings(FunctionSettings):
    event_source: str = Field(pattern=r"^kontakt\.[a-z_]+$")
    failed_events_queue_url: str = Field(description="Where an event too large to publish is sent")


class PublishFailed(Exception):
    pass


@cache
def _events_client() -> Any:
    return boto3.client("events")


@cache
def _sqs_client() -> Any:
    return boto3.client("sqs")


def entry(envelope: Envelope, settings: PublisherSettings) -> dict[str, Any]:
    return {
        "Source": settings.event_source,
        "DetailType": envelope.type,
        "Detail": envelope.model_dump_json(),
        "EventBusName": settings.event_bus_name,
        "Time": envelope.occurred_at,
    }


def entry_size(put_entry: dict[str, Any]) -> int:
    """The entry's size as EventBridge computes it ("Calculating PutEvents event entry size").

    Time counts 14 bytes; Source, DetailType, Detail and each of Resources their UTF-8 length.
    EventBusName is not counted.
    """
    size = TIME_BYTES if put_entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        if put_entry.get(name) is not None:
            size += len(str(put_entry[name]).encode())
    size += sum(len(str(r).encode()) for r in put_entry.get("Resources") or [] if r is not None)
    return size


Pending = tuple[DynamoDBRecord, Envelope, dict[str, Any], int]


def _outbox_envelope(record: DynamoDBRecord) -> Envelope | None:
    image = record.dynamodb.new_image if record.dynamodb else None
    if not image or image.get("kind") != "outbox":
        return None
    return Envelope.model_validate_json(image["envelope"])


def _sequence_number(record: DynamoDBRecord) -> str:
    stream = record.dynamodb
    return stream.sequence_number if stream and stream.sequence_number else "0"


def _calls(pending: list[Pending]) -> Iterator[list[Pending] | Pending]:
    """In stream order: batches of at most 10 entries and 256 KB, and (alone) each entry too large.

    A batch is closed before an oversized entry, so that everything before that entry has been
    put when it is set aside: a failed later batch makes the stream retry from after it.
    """
    batch: list[Pending] = []
    total = 0
    for item in pending:
        size = item[3]
        if size > PUT_EVENTS_MAX_BYTES:
            if batch:
                yield batch
                batch, total = [], 0
            yield item
            continue
        if batch and (len(batch) == PUT_EVENTS_BATCH or total + size > PUT_EVENTS_MAX_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += size
    if batch:
        yield batch


def _set_aside(item: Pending, settings: PublisherSettings) -> None:
    """An entry EventBridge would refuse: logged, counted, and sent to the failure queue."""
    record, envelope, _, size = item
    image = record.dynamodb.new_image if record.dynamodb else {}
    found = {
        "reason": "EntryTooLarge",
        "entry_size": size,
        "limit": PUT_EVENTS_MAX_BYTES,
        "event_source_arn": record.event_source_arn,
        "sequence_number": _sequence_number(record),
        "keys": {"pk": image.get("pk"), "sk": image.get("sk")},
        "event": envelope.model_dump(mode="json", exclude={"data"}),
    }
    logger.error("outbox entry too large to publish", extra=found)
    metrics.add_metric(name="OutboxEntryTooLarge", unit="Count", value=1)
    _sqs_client().send_message(QueueUrl=settings.failed_events_queue_url, MessageBody=json.dumps(found))


def publish(records: list[DynamoDBRecord], settings: PublisherSettings) -> list[str]:
    """Publish the outbox records; the sequence numbers to retry from (empty when all went out)."""
    pending: list[Pending] = []
    for record in records:
        envelope = _outbox_envelope(record)
        if envelope is not None:
            put_entry = entry(envelope, settings)
            pending.append((record, envelope, put_entry, entry_size(put_entry)))
    for call in _calls(pending):
        if isinstance(call, tuple):
            try:
                _set_aside(call, settings)
            except Exception:
                logger.exception("could not set aside an entry too large to publish")
                return [_sequence_number(call[0])]
            continue
        response = _events_client().put_events(Entries=[put_entry for _, _, put_entry, _ in call])
        failed = response.get("FailedEntryCount", 0)
        if failed:
            logger.error("put_events failed", extra={"failed": failed, "entries": response.get("Entries")})
            metrics.add_metric(name="OutboxPublishFailed", unit="Count", value=failed)
            return [_sequence_number(call[0][0])]
        metrics.add_metric(name="EventsPublished", unit="Count", value=len(call))
        for _, env, _, size in call:
            logger.info("published", extra={"event_type": env.type, "event_id": env.id, "entry_size": size})
    return []


@function_entry(traced=False)
def publisher_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load(PublisherSettings)
    retry_from = publish(list(DynamoDBStreamEvent(event).records), settings)
    # ReportBatchItemFailures: the stream resumes from the first failed record.
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in retry_from]}
