"""The emulator's SQS after its patches (a send no longer counts the queue, long polls that a
stopping runtime closes): still SQS's answers; and the runtime's own queue-counts route."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.emulator import Emulator


@pytest.fixture(scope="module")
def emulator(empty_emulator: Emulator) -> Emulator:
    return empty_emulator


@pytest.fixture(scope="module")
def sqs(emulator: Emulator) -> Any:
    return emulator.client("sqs")


def _count(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return str(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_counts_and_content_based_deduplication_still_hold(sqs: Any) -> None:
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
    for body in ("a", "a", "b"):
        sqs.send_message(QueueUrl=plain, MessageBody=body)
    assert _count(sqs, plain) == "3"

    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    fifo = sqs.create_queue(QueueName="deduped.fifo", Attributes=attributes)["QueueUrl"]
    for body in ("a", "a", "b"):
        sqs.send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId="g")
    assert _count(sqs, fifo) == "2"

    strict = sqs.create_queue(QueueName="strict.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError):  # no content-based deduplication: an id is required
        sqs.send_message(QueueUrl=strict, MessageBody="a", MessageGroupId="g")


def test_a_receive_honours_the_retention_period_and_keeps_the_backlog(sqs: Any) -> None:
    """What the patched receive hands out (its speed is `tests/perf/test_i_emulator.py`)."""
    expiring = sqs.create_queue(QueueName="expiring", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=expiring, MessageBody="kept")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=expiring)["Messages"]] == ["kept"]
    backlog = sqs.create_queue(QueueName="backlog")["QueueUrl"]
    for first in range(0, 300, 10):
        entries = [{"Id": str(n), "MessageBody": str(first + n)} for n in range(10)]
        sqs.send_message_batch(QueueUrl=backlog, Entries=entries)
    received = sqs.receive_message(QueueUrl=backlog, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert len(received["Messages"]) == 10
    assert _count(sqs, backlog) == "300"


def test_the_queue_counts_are_what_get_queue_attributes_answers(emulator: Emulator, sqs: Any) -> None:
    dead = sqs.create_queue(QueueName="counted-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5})
    counted = sqs.create_queue(QueueName="counted", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=counted, MessageBody=body)
    sqs.send_message(QueueUrl=counted, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=counted, MaxNumberOfMessages=1, VisibilityTimeout=60)
    sqs.send_message(QueueUrl=dead, MessageBody="dead")

    counts = emulator.queue_counts()
    assert counts["counted"] == {"visible": 2, "in_flight": 1, "dead_letters": "counted-dlq"}
    assert counts["counted-dlq"] == {"visible": 1, "in_flight": 0, "dead_letters": None}
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=counted, AttributeNames=names)["Attributes"]
    assert (counts["counted"]["visible"], counts["counted"]["in_flight"]) == tuple(int(attributes[n]) for n in names)


def test_a_long_poll_applies_the_queues_visibility_timeout_at_receipt(sqs: Any) -> None:
    """A test shortens a queue's timeout while a pump's 20 s long poll waits: the message it takes
    comes back after the new timeout, not the one the poll began with."""
    url = sqs.create_queue(QueueName="shortened", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    taken: list[Any] = []
    poll = threading.Thread(target=lambda: taken.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
    poll.start()
    time.sleep(0.5)  # the poll is waiting
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    sqs.send_message(QueueUrl=url, MessageBody="m")
    poll.join(20)
    assert [m["Body"] for m in taken[0]["Messages"]] == ["m"]
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in again] == ["m"]  # visible again after 1 s, not 300


LONG_POLLS = 48  # more than a runtime of template.yaml holds open (a poll per SQS pump and the dev tap)


def test_closed_receives_end_long_polls_at_once_and_take_nothing_after() -> None:
    """The runtime's pumps long-poll side by side: while they all wait, the emulator still answers
    other requests (a poll holds one of its threads); a stopping runtime ends them all at once."""
    emulator = Emulator()
    emulator.start()
    try:
        sqs = emulator.client("sqs")
        url = sqs.create_queue(QueueName="closing")["QueueUrl"]
        dynamodb = emulator.client("dynamodb")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
        answers: list[Any] = []
        polls = [
            threading.Thread(target=lambda: answers.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
            for _ in range(LONG_POLLS)
        ]
        for poll in polls:
            poll.start()
        time.sleep(1)  # the polls are waiting
        assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
        assert emulator.queue_counts()["closing"]["visible"] == 0
        assert answers == [] and all(poll.is_alive() for poll in polls)  # answered while every poll waits
        started = time.monotonic()
        emulator.close_receives()
        for poll in polls:
            poll.join(20)
        assert time.monotonic() - started < 5 and len(answers) == LONG_POLLS
        assert not any("Messages" in answer for answer in answers)
        sqs.send_message(QueueUrl=url, MessageBody="after")
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
        assert emulator.queue_counts()["closing"]["visible"] == 1  # left in the queue
    finally:
        emulator.stop()


def test_the_sqs_pump_fills_a_batch_above_ten_within_the_window_as_lambda_does(sqs: Any) -> None:
    """BatchSize 100 with a batching window: Lambda's poller gathers up to 100 messages from several
    receives (SQS gives at most 10 each) into one invocation; the pump does the same."""
    from infra.pumps import SqsPump
    from infra.template import EventSourceMapping, Queue

    url = sqs.create_queue(QueueName="gathered")["QueueUrl"]
    for start in range(0, 25, 5):
        entries = [{"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, start + 5)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = EventSourceMapping(
        logical_id="Gathered",
        function="Fn",
        source_arn=arn,
        batch_size=100,
        batching_window=1,
        function_response_types=["ReportBatchItemFailures"],
        filters=[],
        bisect_on_error=False,
        max_retry_attempts=-1,
        on_failure_arn=None,
        starting_position=None,
        enabled=True,
    )
    batches: list[list[str]] = []

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        batches.append([record["body"] for record in event["Records"]])
        return {"batchItemFailures": []}

    pump = SqsPump(sqs, mapping, Queue("Gathered", "gathered", url, arn, 30, None, {}), "Fn", invoke)
    pump.poll_once()
    assert [sorted(batch) for batch in batches] == [sorted(f"m{n}" for n in range(25))]
    assert _count(sqs, url) == "0"  # all deleted: they succeeded
