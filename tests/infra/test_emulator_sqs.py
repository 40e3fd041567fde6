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
