"""Pollers that drive the event source mappings of the template, with AWS's semantics."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.functions import FunctionError
from infra.template import REGION, EventSourceMapping, Queue

log = logging.getLogger("kontakt.pumps")

Invoke = Callable[[str, Any], Any]

# As Lambda's pollers (a receive per queue a second cost more CPU than an idle stack's other work);
# a stopping runtime ends the waits at once (infra/moto_patches.py, close_receives).
SQS_WAIT_SECONDS = 20
# With nothing written that the runtime saw (`wake`), a stream is read once a second: the runtime
# wakes its stream pumps when an invocation ends (only functions and tests write to tables) and
# when a drain must see a poll; polling ten times a second was half of an idle stack's CPU.
# STREAM_IDLE_SLEEP: the least time between two stream polls that found nothing. Idle pumps poll
# on the same ticks of the clock (whole multiples of STREAM_IDLE_POLL), so that they share one
# StreamHeads request; HEADS_GATHER_SECONDS: how long a request waits for the other pumps polling.
STREAM_IDLE_POLL = 1.0
STREAM_IDLE_SLEEP = 0.1
HEADS_GATHER_SECONDS = 0.002
# A shard iterator expires 15 minutes after it is opened (DynamoDB Streams): one is kept from
# poll to poll (each GetRecords returns the next) and opened again a minute before that.
ITERATOR_LIFETIME_SECONDS = 14 * 60
SHARD_REFRESH_SECONDS = 30.0  # how often a pump lists the stream's shards again


class Pump:
    """A daemon thread looping over `poll_once` until stopped."""

    name = "pump"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.busy = False  # holding records that are not yet settled
        self.polls = 0  # completed polls, so a waiter can tell a poll began after it looked
        self.began = 0  # polls begun: a poll numbered above what a waiter saw began after it looked
        self.taken = 0  # messages or stream records taken, so a waiter can tell work moved while it looked
        self._wake = threading.Event()  # set: something may have been written, read again now

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Something may have been written for this pump: its next poll begins without waiting out the idle pause."""
        self._wake.set()

    def join(self, timeout: float = 5) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.began += 1
                self.poll_once()
                self.polls += 1
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("%s failed; polling again", self.name)
                self._stop.wait(1)

    def poll_once(self) -> None:
        raise NotImplementedError

    def idle(self) -> bool:
        return not self.busy


# ---------------------------------------------------------------- SQS


class SqsPump(Pump):
    """Receives batches from a queue, invokes the function, deletes what succeeded."""

    def __init__(self, sqs: Any, mapping: EventSourceMapping, queue: Queue, function_name: str, invoke: Invoke):
        super().__init__()
        self.name = f"sqs:{queue.name}"
        self.sqs = sqs
        self.mapping = mapping
        self.queue = queue
        self.function_name = function_name
        self.invoke = invoke

    def poll_once(self) -> None:
        response = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=min(self.mapping.batch_size, 10),
            WaitTimeSeconds=SQS_WAIT_SECONDS,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return
        self.busy = True
        self.taken += len(messages)
        try:
            messages += self._gather(len(messages))
            self.deliver(messages)
        finally:
            self.busy = False

    def _gather(self, have: int) -> list[dict[str, Any]]:
        """MaximumBatchingWindowInSeconds: more messages until the batch is full or time is up. As
        Lambda's poller, a BatchSize above 10 (SQS's most per receive) takes several receives."""
        more: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.mapping.batching_window
        while have + len(more) < self.mapping.batch_size and time.monotonic() < deadline:
            response = self.sqs.receive_message(
                QueueUrl=self.queue.url,
                MaxNumberOfMessages=min(self.mapping.batch_size - have - len(more), 10),
                WaitTimeSeconds=max(0, min(SQS_WAIT_SECONDS, int(deadline - time.monotonic()))),
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            found = response.get("Messages", [])
            self.taken += len(found)
            more += found
            if not found:
                time.sleep(0.05)
        return more

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        tests = [m for m in messages if _is_s3_test_event(m)]
        self._delete(tests)  # S3 sends one when notifications are configured; Lambda never sees it
        messages = [m for m in messages if m not in tests]
        if not messages:
            return
        event = {"Records": [self.record(m) for m in messages]}
        try:
            result = self.invoke(self.mapping.function, event)
            failed = self.failed_ids(result, {m["MessageId"] for m in messages})
        except FunctionError:  # the console tells it, as each invocation (infra/console.py)
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            outcome = "failed" if message["MessageId"] in failed else "ok"
            log.debug("deliver %s -> %s %s", describe_message(message["Body"]), self.function_name, outcome)
        self._delete([m for m in messages if m["MessageId"] not in failed])

    def failed_ids(self, result: Any, batch: set[str]) -> set[str]:
        """The ids a partial-batch response names; a malformed response fails the whole batch."""
        if not self.mapping.reports_item_failures or not isinstance(result, dict):
            return set()
        failures = result.get("batchItemFailures") or []
        ids = {str(f.get("itemIdentifier")) if isinstance(f, dict) else "" for f in failures}
        return ids if ids <= batch else set(batch)

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        body = message["Body"]
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue.arn,
            "awsRegion": REGION,
        }

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )


def _is_s3_test_event(message: dict[str, Any]) -> bool:
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("Event") == "s3:TestEvent"


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, value in attributes.items():
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    return converted


def describe_message(body: str) -> str:
    """`<detail-type> <envelope id>` of an EventBridge delivery, or what an S3 record names."""
    try:
        document = json.loads(body)
    except ValueError:
        return "message -"
    if not isinstance(document, dict):
        return "message -"
    if "detail-type" in document:
        detail = document.get("detail")
        envelope_id = detail.get("id") if isinstance(detail, dict) and "id" in detail else document.get("id")
        return f"{document['detail-type']} {envelope_id}"
    records = document.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        first = records[0]
        key = first.get("s3", {}).get("object", {}).get("key", "-")
        return f"{first.get('eventName', 'record')} {key}"
    return f"message {document.get('id', '-')}"


# ---------------------------------------------------------------- DynamoDB streams


class FailureDestination:
    """A stream mapping's on-failure destination, written to as Lambda writes it.

    An SQS queue (or SNS topic) gets the invocation record alone: pointers into the stream. An S3
    bucket gets the invocation record plus `payload`, the whole event the function was invoked
    with, in an object keyed `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID>`
    (Lambda developer guide, "Retain discarded records": the record format and the key).
    """

    def __init__(self, kind: str, target: str, client: Any) -> None:
        if kind not in ("sqs", "s3"):
            raise ValueError(f"on-failure destination kind {kind} is not emulated")
        self.kind = kind
        self.target = target  # a queue URL or a bucket name
        self.client = client

    def deliver(self, record: dict[str, Any], event: dict[str, Any], mapping_uuid: str, shard_id: str) -> None:
        if self.kind == "sqs":
            self.client.send_message(QueueUrl=self.target, MessageBody=json.dumps(record))
            return
        now = datetime.now(UTC)
        key = f"aws/lambda/{mapping_uuid}/{shard_id}/{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
        body = json.dumps({**record, "payload": json.dumps(event)})
        self.client.put_object(Bucket=self.target, Key=key, Body=body.encode(), ContentType="application/json")


Heads = dict[str, dict[str, str | None]]  # stream ARN -> shard id -> its last record's sequence number


class StreamHeads:
    """Every stream's shards' last sequence numbers (the emulator's /_kontakt/stream-heads), asked
    for once by all the stream pumps of a runtime that poll at about the same time.

    A pump reads a shard (GetRecords) only when its last record is one the pump has not read: most
    polls find nothing, and a GetRecords cost the runtime's process ~1 ms of CPU (botocore), where
    this is one raw request for all streams. A local economy of the emulation: Lambda's poller
    calls GetRecords, and a pump without heads (tests, another endpoint) does too on every poll.
    """

    def __init__(self, ask: Callable[[], Heads]) -> None:
        self._ask = ask
        self._lock = threading.Lock()
        self._asked = 0  # requests begun
        self._held_from = 0  # the number of the request whose answer is held
        self._held: Heads = {}

    def read(self) -> Heads:
        """An answer to a request begun after this call began: every write whose answer was sent
        before it is counted (a drain's poll begun after its check sees what the check saw).
        Pumps that call at once share one request."""
        mark = self._asked
        with self._lock:
            if self._held_from <= mark:
                time.sleep(HEADS_GATHER_SECONDS)  # pumps woken with this one come to the lock meanwhile
                self._asked += 1
                number = self._asked
                self._held = self._ask()
                self._held_from = number
            return self._held


class StreamPump(Pump):
    """Reads a table's stream shard by shard and invokes the function batch by batch.

    A batch is retried until it succeeds (bisected when the mapping says so) or its retries
    are exhausted, then sent to the on-failure destination; a record is never skipped silently.
    """

    def __init__(
        self,
        streams: Any,
        mapping: EventSourceMapping,
        function_name: str,
        function_arn: str,
        on_failure: FailureDestination | None,
        invoke: Invoke,
        retry_delay: float = 0.2,
        resume: dict[str, str] | None = None,
        heads: StreamHeads | None = None,
    ):
        """`resume`: per shard, the sequence number of the last record done before a restart (a
        saved state was loaded): the pump goes on after it instead of at the mapping's start.
        `heads`: the runtime's StreamHeads; a poll then reads only the shards with records it has
        not read (None: every shard, every poll)."""
        super().__init__()
        self.name = f"stream:{mapping.logical_id}"
        self.streams = streams
        self.mapping = mapping
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kontakt-local/{mapping.logical_id}"))  # the ESM's UUID
        self.function_name = function_name
        self.function_arn = function_arn
        self.on_failure = on_failure
        self.invoke = invoke
        self.retry_delay = retry_delay
        self._iterators: dict[str, str | None] = {}  # per shard, the iterator the next poll reads with
        self._opened: dict[str, float] = {}  # per shard, when its iterator was opened (monotonic)
        self._described = 0.0  # when the shards were last listed (monotonic)
        self._last_read: dict[str, str] = dict(resume or {})
        self.heads = heads
        # Per shard, the last sequence number the pump has read up to (None: the shard was empty):
        # while the shard's head is that, a GetRecords would find nothing.
        self._read_to: dict[str, str | None] = {}
        # Per shard, the last record whose batch is done (succeeded or sent to the destination).
        self.checkpoints: dict[str, str] = dict(resume or {})
        self._shard_of: dict[str, str] = {}  # sequence number -> shard, of the records pending
        self._pending: deque[dict[str, Any]] = deque()
        self._pattern = _filter_patterns(mapping.filters)
        self._caught_up = False

    def idle(self) -> bool:
        return self._caught_up and not self._pending and not self.busy

    def _pause(self) -> None:
        """After a poll that found nothing: STREAM_IDLE_SLEEP, then until woken or the clock's next
        tick of STREAM_IDLE_POLL (every idle pump's at once: they share a heads request).
        The wake is cleared before the next poll reads: a write the runtime saw after it wakes once more."""
        if not self._stop.wait(STREAM_IDLE_SLEEP):
            self._wake.wait(STREAM_IDLE_POLL - time.monotonic() % STREAM_IDLE_POLL)
        self._wake.clear()

    def poll_once(self) -> None:
        self._fill()
        if not self._pending:
            self._caught_up = True
            self._pause()
            return
        self._caught_up = False
        self._wait_for_batch()
        batch = [self._pending.popleft() for _ in range(min(self.mapping.batch_size, len(self._pending)))]
        self.busy = True
        try:
            self.process(batch)
        finally:
            self.busy = False

    def _open_shards(self, heads: dict[str, str | None] | None) -> None:
        """Learn the stream's shards: at the start, when a shard has closed or the heads name one
        not known, and every SHARD_REFRESH_SECONDS (a stream adds shards as it goes); not on every poll."""
        now = time.monotonic()
        closed = any(iterator is None for iterator in self._iterators.values())
        unknown = heads is not None and not heads.keys() <= self._iterators.keys()
        if self._iterators and not closed and not unknown and now - self._described < SHARD_REFRESH_SECONDS:
            return
        self._described = now
        description = self.streams.describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._open(shard_id)

    def _open(self, shard_id: str) -> str:
        """An iterator after the last record read (a resumed pump's too), else at the mapping's start.
        A shard read to its end (`_read_to`, with heads) goes on from there: a LATEST iterator
        opened again after a long idle time would skip what was written since the last read."""
        last = self._read_to[shard_id] if shard_id in self._read_to else self._last_read.get(shard_id)
        if last is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
        elif shard_id in self._read_to:  # read while it was empty: all it holds came since
            position = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            position = {"ShardIteratorType": self.mapping.starting_position or "TRIM_HORIZON"}
        iterator = self.streams.get_shard_iterator(StreamArn=self.mapping.source_arn, ShardId=shard_id, **position)
        self._opened[shard_id] = time.monotonic()
        return str(iterator["ShardIterator"])

    def _fill(self) -> None:
        """One GetRecords a shard, on the iterator the last one returned (NextShardIterator), as
        Lambda polls; the iterator is opened again only when it is near its 15 minutes or refused
        (expired, or the emulator restarted without its iterators). With `heads`, a shard whose
        last record the pump has read is not read (the heads were asked after this poll began)."""
        heads = self.heads.read().get(self.mapping.source_arn) if self.heads is not None else None
        self._open_shards(heads)
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            if self._read_already(shard_id, heads):
                continue
            if time.monotonic() - self._opened.get(shard_id, 0.0) > ITERATOR_LIFETIME_SECONDS:
                iterator = self._open(shard_id)
            try:
                response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            except Exception:
                log.info("stream %s: shard iterator refused, opened again", self.mapping.logical_id, exc_info=True)
                response = self.streams.get_records(ShardIterator=self._open(shard_id), Limit=1000)
            self._iterators[shard_id] = response.get("NextShardIterator")
            records = response.get("Records", [])
            if records:
                self._read_to[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            elif heads is not None and shard_id in heads:
                # Read after the heads were asked and at the shard's end: up to its head at least.
                self._read_to[shard_id] = heads[shard_id]
            for record in records:
                self.taken += 1
                self._last_read[shard_id] = record["dynamodb"]["SequenceNumber"]
                lambda_record = self.lambda_record(record)
                # Filtered-out records are consumed without an invocation, as in Lambda.
                if self._matches(lambda_record):
                    self._pending.append(lambda_record)
                    self._shard_of[record["dynamodb"]["SequenceNumber"]] = shard_id

    def _read_already(self, shard_id: str, heads: dict[str, str | None] | None) -> bool:
        """Whether the shard's last record, as the heads tell it, is one the pump has read (or the
        shard was empty and still is): a GetRecords would find nothing."""
        if heads is None or shard_id not in heads or shard_id not in self._read_to:
            return False
        return heads[shard_id] == self._read_to[shard_id]

    def _wait_for_batch(self) -> None:
        """MaximumBatchingWindowInSeconds: gather records until the batch is full or time is up."""
        deadline = time.monotonic() + self.mapping.batching_window
        while len(self._pending) < self.mapping.batch_size and time.monotonic() < deadline:
            if self._stop.wait(0.05):
                return
            self._fill()

    def lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        dynamodb = _base64_binaries(dict(record["dynamodb"]))
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):  # moto returns a datetime; Lambda sends epoch seconds
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": dynamodb,
            "eventSourceARN": self.mapping.source_arn,  # moto leaves it out
        }

    def _matches(self, record: dict[str, Any]) -> bool:
        return not self._pattern or any(p.matches_event(record) for p in self._pattern)

    def process(self, batch: list[dict[str, Any]]) -> None:
        attempts = 0
        work = deque([batch])
        while work and not self._stop.is_set():
            current = work.popleft()
            failed_from = self._invoke(current)
            if failed_from is None:
                attempts = 0
                continue
            attempts += 1
            if self._exhausted(attempts):
                self._send_to_destination(current[failed_from:], attempts)
                attempts = 0
                continue
            remaining = current[failed_from:]
            if self.mapping.bisect_on_error and failed_from == 0 and len(remaining) > 1:
                half = len(remaining) // 2
                work.extendleft([remaining[half:], remaining[:half]])
            else:
                work.appendleft(remaining)
            self._stop.wait(min(self.retry_delay * attempts, 5))
        if not work:
            for record in batch:
                shard_id = self._shard_of.pop(record["dynamodb"]["SequenceNumber"], None)
                if shard_id is not None:
                    self.checkpoints[shard_id] = record["dynamodb"]["SequenceNumber"]

    def _exhausted(self, attempts: int) -> bool:
        limit = self.mapping.max_retry_attempts
        return limit >= 0 and attempts > limit

    def _invoke(self, batch: list[dict[str, Any]]) -> int | None:
        """None when the batch succeeded, else the index of the first record to retry."""
        try:
            result = self.invoke(self.mapping.function, {"Records": batch})
        except FunctionError:  # the console tells it (infra/console.py)
            return 0
        if not self.mapping.reports_item_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures") or []
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        positions = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier not in sequence_numbers:
                return 0  # a malformed response fails the whole batch
            positions.append(sequence_numbers.index(identifier))
        return min(positions) if positions else None

    def _send_to_destination(self, records: list[dict[str, Any]], attempts: int) -> None:
        log.error(
            "stream %s -> %s: %d records dropped after %d attempts",
            self.mapping.logical_id,
            self.function_name,
            len(records),
            attempts,
        )
        if self.on_failure is None:
            return
        shard_id = next(iter(self._iterators), "")
        record = self._failure_record(records, attempts, shard_id)
        self.on_failure.deliver(record, {"Records": records}, self.uuid, shard_id)

    def _failure_record(self, records: list[dict[str, Any]], attempts: int, shard_id: str) -> dict[str, Any]:
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        arrival = datetime.fromtimestamp(first.get("ApproximateCreationDateTime", time.time()), UTC)
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival.isoformat().replace("+00:00", "Z"),
                "approximateArrivalOfLastRecord": arrival.isoformat().replace("+00:00", "Z"),
                "batchSize": len(records),
                "streamArn": self.mapping.source_arn,
            },
        }


def _filter_patterns(patterns: list[dict[str, Any]]) -> list[Any]:
    """FilterCriteria use EventBridge's pattern language; moto's matcher implements it."""
    from moto.events.models import EventPattern

    return [EventPattern.load(json.dumps(p)) for p in patterns]


# ---------------------------------------------------------------- dev tap


class TapPump(Pump):
    """Drains the dev tap queue (every event on every bus) into a ring buffer."""

    name = "tap"

    def __init__(self, sqs: Any, queue_url: str, size: int = 500) -> None:
        super().__init__()
        self.sqs = sqs
        self.queue_url = queue_url
        self._events: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def poll_once(self) -> None:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=SQS_WAIT_SECONDS
        )
        messages = response.get("Messages", [])
        if not messages:
            return
        self.busy = True
        self.taken += len(messages)
        try:
            with self._lock:
                for message in messages:
                    self._events.append(json.loads(message["Body"]))
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        finally:
            self.busy = False

    def events(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            newest_first = list(reversed(self._events))
        return newest_first[:limit] if limit is not None else newest_first


def _base64_binaries(value: Any) -> Any:
    """Binary attribute values (B, BS) as Lambda sends them in a stream record: base64 text.

    moto's stream records carry a binary value base64-encoded once more than the table holds it,
    so boto3's decoding leaves the base64 text (as bytes): that text is what Lambda sends.
    tests/infra/test_runtime.py checks the value against the bytes written.
    """
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _base64_binaries(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_base64_binaries(item) for item in value]
    return value
