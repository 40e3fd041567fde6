"""The local stream pump polls a shard as Lambda does: one GetRecords a poll on the iterator the
last one returned, the shard iterator opened again only when it is refused (issue 18); with the
runtime's StreamHeads, only a shard with records it has not read."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from infra.emulator import Emulator
from infra.pumps import ITERATOR_LIFETIME_SECONDS, StreamHeads, StreamPump
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
def emulator(empty_emulator: Emulator) -> Emulator:
    return empty_emulator


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


def _heads_pump(
    emulator: Emulator, stream_arn: str, streams: Any, delivered: list[str], heads: StreamHeads | None = None
) -> StreamPump:
    pump = _pump(stream_arn, streams, delivered)
    pump.heads = heads or StreamHeads(emulator.stream_heads)
    return pump


def test_the_emulator_tells_each_streams_shards_and_their_last_sequence_numbers(
    emulator: Emulator, table: tuple[Any, str, str]
) -> None:
    dynamodb, name, stream_arn = table
    streams = emulator.client("dynamodbstreams")
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    assert emulator.stream_heads()[stream_arn] == {shard["ShardId"]: None}
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    last = records[-1]["dynamodb"]["SequenceNumber"]
    assert emulator.stream_heads()[stream_arn] == {shard["ShardId"]: last}


def test_with_heads_a_poll_reads_only_a_shard_with_records_it_has_not_read(
    emulator: Emulator, table: tuple[Any, str, str]
) -> None:
    dynamodb, name, stream_arn = table
    streams = Counted(emulator.client("dynamodbstreams"))
    delivered: list[str] = []
    pump = _heads_pump(emulator, stream_arn, streams, delivered)
    pump.poll_once()  # an empty shard: read once, to learn it is at its end
    streams.calls.clear()
    pump.poll_once()
    pump.poll_once()
    assert streams.calls == {}
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    pump.poll_once()
    pump.poll_once()
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "b"}})
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "c"}})
    pump.poll_once()
    pump.poll_once()
    assert delivered == ["a", "b", "c"]
    assert streams.calls == {"get_records": 2}


class EnteredLock:
    """A lock that counts the threads that came to it."""

    def __init__(self) -> None:
        self.entered = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self.entered += 1
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_stream_pumps_polling_at_once_share_one_heads_request_asked_after_each_began() -> None:
    """A drain's guarantee rests on this: a poll begun after its check reads heads asked after it."""
    asked: list[int] = []
    release = threading.Event()

    def ask() -> dict[str, dict[str, str | None]]:
        asked.append(len(asked))
        release.wait(5)
        return {"stream": {"shard": str(len(asked))}}

    heads = StreamHeads(ask)
    heads._lock = lock = EnteredLock()
    answers: list[dict[str, dict[str, str | None]]] = []
    first = threading.Thread(target=lambda: answers.append(heads.read()))
    first.start()
    while not asked:  # the first request is under way
        time.sleep(0.001)
    waiting = [threading.Thread(target=lambda: answers.append(heads.read())) for _ in range(3)]
    for thread in waiting:
        thread.start()
    while lock.entered < 4:  # the three wait for the lock the first request holds
        time.sleep(0.001)
    release.set()
    for thread in [first, *waiting]:
        thread.join(5)
    # The three began while the first request was under way: its answer may predate their writes,
    # so they share a second one; a later read asks again.
    assert len(asked) == 2
    assert [a["stream"]["shard"] for a in answers] == ["1", "2", "2", "2"]
    assert heads.read() == {"stream": {"shard": "3"}}


def test_an_iterator_opened_again_after_a_read_to_the_shards_end_skips_nothing(
    emulator: Emulator, table: tuple[Any, str, str]
) -> None:
    """A shard left unread while nothing came (heads) keeps its iterator past 14 minutes: the one
    opened then goes on after what was read, whatever the mapping's starting position."""
    dynamodb, name, stream_arn = table
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "before"}})
    delivered: list[str] = []
    pump = _heads_pump(emulator, stream_arn, emulator.client("dynamodbstreams"), delivered)
    pump.mapping = replace(pump.mapping, starting_position="LATEST")
    pump.poll_once()  # at the end: "before" is not read (LATEST)
    [shard] = pump._iterators
    pump._opened[shard] -= ITERATOR_LIFETIME_SECONDS + 1
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "after"}})
    pump.poll_once()
    assert delivered == ["after"]
