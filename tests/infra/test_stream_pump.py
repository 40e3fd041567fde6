"""The local stream pump polls a shard as Lambda does: one GetRecords a poll on the iterator the
last one returned, the shard iterator opened again only when it is refused (issue 18)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from infra.emulator import Emulator
from infra.pumps import StreamPump
from infra.template import EventSourceMapping


class Counted:
    """A client whose calls are counted by operation."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def counted(**kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(**kwargs)

        return counted


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emulator = Emulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def table(emulator: Emulator, request: pytest.FixtureRequest) -> tuple[Any, str, str]:
    """A table with a stream (its name, client, stream ARN): one per test."""
    dynamodb = emulator.client("dynamodb")
    name = f"pumped-{request.node.name[-20:]}"
    description = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return dynamodb, name, description["LatestStreamArn"]


def _pump(stream_arn: str, streams: Any, delivered: list[str]) -> StreamPump:
    mapping = EventSourceMapping(
        logical_id="Pumped",
        function="Fn",
        source_arn=stream_arn,
        batch_size=100,
        batching_window=0,
        function_response_types=[],
        filters=[],
        bisect_on_error=False,
        max_retry_attempts=-1,
        on_failure_arn=None,
        starting_position="TRIM_HORIZON",
        enabled=True,
    )

    def invoke(function: str, event: dict[str, Any]) -> None:
        delivered.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"])

    return StreamPump(streams, mapping, "Fn", "arn:aws:lambda:fn", None, invoke)


def test_a_poll_reads_on_the_iterator_the_last_one_returned(emulator: Emulator, table: tuple[Any, str, str]) -> None:
    dynamodb, name, stream_arn = table
    streams = Counted(emulator.client("dynamodbstreams"))
    delivered: list[str] = []
    pump = _pump(stream_arn, streams, delivered)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    pump.poll_once()  # lists the shard and opens its iterator once
    assert delivered == ["a"]
    streams.calls.clear()
    for key in ("b", "c", "d"):
        dynamodb.put_item(TableName=name, Item={"pk": {"S": key}})
        pump.poll_once()
    pump.poll_once()  # nothing new: still one call
    assert delivered == ["a", "b", "c", "d"]
    assert streams.calls == {"get_records": 4}


def test_a_refused_iterator_is_opened_again_after_the_last_record_read(
    emulator: Emulator, table: tuple[Any, str, str]
) -> None:
    """As an expired one, or after an emulator restart (it keeps the tables, not the iterators)."""
    dynamodb, name, stream_arn = table
    streams = Counted(emulator.client("dynamodbstreams"))
    delivered: list[str] = []
    pump = _pump(stream_arn, streams, delivered)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    pump.poll_once()
    [shard] = pump._iterators
    pump._iterators[shard] = stream_arn + "|1|unknown"  # an iterator the emulator does not know
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    streams.calls.clear()
    pump.poll_once()
    pump.poll_once()
    assert delivered == ["a", "b"]  # nothing lost, nothing twice
    assert streams.calls["get_shard_iterator"] == 1


def test_a_read_at_the_shards_end_answers_no_records_and_its_own_iterator_which_reads_what_comes_next(
    emulator: Emulator, table: tuple[Any, str, str]
) -> None:
    """The emulator answers an empty read before moto's dispatch (infra/emulator.py): the same
    iterator, from which the records written later are read, once each."""
    dynamodb, name, stream_arn = table
    streams = emulator.client("dynamodbstreams")
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    opened = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")
    iterator = opened["ShardIterator"]
    empty = streams.get_records(ShardIterator=iterator)
    assert (empty["Records"], empty["NextShardIterator"]) == ([], iterator)
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    read = streams.get_records(ShardIterator=iterator, Limit=1)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read["Records"]] == ["a"]
    rest = streams.get_records(ShardIterator=read["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in rest["Records"]] == ["b"]
    end = streams.get_records(ShardIterator=rest["NextShardIterator"])
    assert (end["Records"], end["NextShardIterator"]) == ([], rest["NextShardIterator"])
