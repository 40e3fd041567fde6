"""The emulator's SQS after its patch (a send no longer counts the queue): still SQS's answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.emulator import Emulator


@pytest.fixture(scope="module")
def sqs() -> Iterator[Any]:
    emulator = Emulator()
    emulator.start()
    yield emulator.client("sqs")
    emulator.stop()


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
