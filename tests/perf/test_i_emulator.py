"""The emulator's Query and ReceiveMessage stay flat as a table or a queue grows (infra/moto_patches.py).

Prints the time of 20 Queries on a small table and on one of 3,000 items, and of 10 receives at a
backlog of 10 and of 3,000 messages. moto alone read every item of the table per Query and counted
every queued message several times per receive.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    started = Emulator()
    started.start()
    yield started
    started.stop()


def _seconds(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def test_query_time_with_the_table_size(emulator: Emulator) -> None:
    dynamodb = emulator.client("dynamodb")
    dynamodb.create_table(
        TableName="grow",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    def queries() -> None:
        for _ in range(20):
            found = dynamodb.query(
                TableName="grow", KeyConditionExpression="pk = :v", ExpressionAttributeValues={":v": {"S": "small"}}
            )
            assert len(found["Items"]) == 1

    dynamodb.put_item(TableName="grow", Item={"pk": {"S": "small"}, "sk": {"S": "x"}})
    small = _seconds(queries)
    for first in range(0, 3000, 25):
        batch = [{"PutRequest": {"Item": {"pk": {"S": f"big{n}"}, "sk": {"S": "x"}}}} for n in range(first, first + 25)]
        dynamodb.batch_write_item(RequestItems={"grow": batch})
    large = _seconds(queries)
    print(f"\n20 Queries: {small * 1000:.0f} ms on 1 item, {large * 1000:.0f} ms on 3,001 items")


def test_receive_time_with_the_backlog(emulator: Emulator) -> None:
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName="grow")["QueueUrl"]

    def receives() -> None:
        for _ in range(10):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            assert len(got["Messages"]) == 10

    few = 0.0
    for first in range(0, 3000, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(first + n)} for n in range(10)])
        if first == 10:
            few = _seconds(receives)
    many = _seconds(receives)
    print(f"\n10 receives: {few * 1000:.0f} ms at 20 queued, {many * 1000:.0f} ms at 3,000 queued")
