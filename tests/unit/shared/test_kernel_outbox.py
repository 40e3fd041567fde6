"""The outbox publisher's batching and failure reporting, with a fake EventBridge client that enforces AWS's limits."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from pydantic import ValidationError

from shared import outbox
from shared.events import SYSTEM, Envelope
from shared.observability import metrics
from shared.outbox import PublisherSettings, publish
from shared.store import record_key

pytestmark = pytest.mark.disable_socket

SETTINGS = PublisherSettings(
    event_source="kontakt.directory", event_bus_name="bus-1", failed_events_queue_url="https://sqs/failed"
)
LIMIT = 256 * 1024


class TooLarge(Exception):
    """What botocore raises for AWS's ValidationException on a call over 256 KB."""


def aws_entry_size(entry: dict[str, Any]) -> int:
    """Written out here from AWS's page, apart from the code under test."""
    size = 14 if entry.get("Time") is not None else 0
    size += len(entry["Source"].encode("utf-8")) + len(entry["DetailType"].encode("utf-8"))
    size += len(entry["Detail"].encode("utf-8"))
    return size + sum(len(r.encode("utf-8")) for r in entry.get("Resources", []))


class FakeEvents:
    """Records each put_events call; fails the calls whose number is in `failing` (1-based).

    As AWS does: more than 10 entries or more than 256 KB of entries in one call refuse the call.
    """

    def __init__(self, failing: set[int] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.refused: list[list[dict[str, Any]]] = []
        self.failing = failing or set()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if len(Entries) > 10 or sum(aws_entry_size(e) for e in Entries) > LIMIT:
            self.refused.append(Entries)
            raise TooLarge("Total size of the entries in the request is over the limit.")
        self.calls.append(Entries)
        failed = 1 if len(self.calls) in self.failing else 0
        return {"FailedEntryCount": failed, "Entries": [{"EventId": "x"} for _ in Entries]}


class FakeSqs:
    def __init__(self, down: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.down = down

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:
        if self.down:
            raise ConnectionError("sqs is down")
        self.sent.append({"QueueUrl": QueueUrl, **json.loads(MessageBody)})
        return {"MessageId": "m"}


@pytest.fixture(autouse=True)
def no_metrics_left() -> Iterator[None]:
    yield
    metrics.clear_metrics()


def fake(monkeypatch: pytest.MonkeyPatch, failing: set[int] | None = None) -> FakeEvents:
    client = FakeEvents(failing)
    monkeypatch.setattr(outbox, "_events_client", lambda: client)
    monkeypatch.setattr(outbox, "_sqs_client", FakeSqs)  # a test that sets something aside brings its own
    return client


def fake_sqs(monkeypatch: pytest.MonkeyPatch, down: bool = False) -> FakeSqs:
    queue = FakeSqs(down)
    monkeypatch.setattr(outbox, "_sqs_client", lambda: queue)
    return queue


def envelope(n: int, data: dict[str, Any] | None = None) -> Envelope:
    return Envelope(
        id=f"e{n}",
        type="account.created",
        tenant_id="t1",
        occurred_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
        actor=SYSTEM,
        correlation_id=f"c{n}",
        data={"n": n} if data is None else data,
    )


def outbox_record(n: int, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": str(1000 + n),
            "NewImage": {
                "pk": {"S": f"OUTBOX#e{n}"},
                "sk": {"S": "OUTBOX"},
                "kind": {"S": "outbox"},
                "envelope": {"S": envelope(n, data).model_dump_json()},
            },
        },
    }


def other_record(n: int, event_name: str = "INSERT") -> dict[str, Any]:
    image = {"pk": {"S": record_key("t1", "account", str(n))}, "sk": {"S": "ACCOUNT"}, "kind": {"S": "account"}}
    record: dict[str, Any] = {"eventName": event_name, "dynamodb": {"SequenceNumber": str(1000 + n)}}
    if event_name != "REMOVE":
        record["dynamodb"]["NewImage"] = image
    return record


def records(*raw: dict[str, Any]) -> list[DynamoDBRecord]:
    return list(DynamoDBStreamEvent({"Records": list(raw)}).records)


def sent_ids(client: FakeEvents) -> list[list[str]]:
    return [[Envelope.model_validate_json(e["Detail"]).id for e in call] for call in client.calls]


def test_batches_of_ten(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    assert publish(records(*(outbox_record(n) for n in range(23))), SETTINGS) == []
    assert [len(call) for call in client.calls] == [10, 10, 3]
    assert sent_ids(client)[2] == ["e20", "e21", "e22"]


def test_entry_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    publish(records(outbox_record(1)), SETTINGS)
    [[entry]] = client.calls
    assert entry["Source"] == "kontakt.directory"
    assert entry["DetailType"] == "account.created"
    assert entry["EventBusName"] == "bus-1"
    assert Envelope.model_validate_json(entry["Detail"]) == envelope(1)


def test_failed_batch_returns_its_first_sequence_number_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch, failing={2})
    retry_from = publish(records(*(outbox_record(n) for n in range(25))), SETTINGS)
    assert retry_from == ["1010"]
    assert [len(call) for call in client.calls] == [10, 10]  # nothing after the failed batch


def test_failed_first_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch, failing={1})
    assert publish(records(*(outbox_record(n) for n in range(3))), SETTINGS) == ["1000"]
    assert len(client.calls) == 1


def test_non_outbox_records_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    stream = records(
        other_record(1),
        outbox_record(2),
        other_record(3, "MODIFY"),
        other_record(4, "REMOVE"),
        outbox_record(5),
    )
    assert publish(stream, SETTINGS) == []
    assert sent_ids(client) == [["e2", "e5"]]


def test_skipped_records_do_not_shift_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch, failing={2})
    raw = [other_record(n) if n % 2 else outbox_record(n) for n in range(30)]  # 15 outbox records
    assert publish(records(*raw), SETTINGS) == ["1020"]  # the 11th outbox record is n=20
    assert [len(call) for call in client.calls] == [10, 5]


def test_nothing_to_publish_makes_no_call(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    assert publish(records(other_record(1)), SETTINGS) == []
    assert publish([], SETTINGS) == []
    assert client.calls == []


def test_event_source_must_be_a_kontakt_service() -> None:
    with pytest.raises(ValidationError):
        PublisherSettings(event_source="aws.events")


# ----------------------------------------------------------------------------- sizes (256 KB a call)


def sized_record(n: int, size: int) -> dict[str, Any]:
    """An outbox record whose PutEvents entry is `size` bytes as AWS counts them."""
    bare = aws_entry_size(outbox.entry(envelope(n, {"pad": ""}), SETTINGS))
    assert size >= bare
    return outbox_record(n, {"pad": "x" * (size - bare)})


def sent_sizes(client: FakeEvents) -> list[list[int]]:
    return [[aws_entry_size(e) for e in call] for call in client.calls]


def test_entry_size_is_counted_as_aws_counts_it() -> None:
    entry = {"Source": "kontakt.directory", "DetailType": "a.b", "Detail": '{"é":"€"}', "Time": "2026"}
    assert outbox.entry_size(entry) == 14 + 17 + 3 + len('{"é":"€"}'.encode())  # UTF-8 bytes, not characters
    assert outbox.entry_size({**entry, "Resources": ["arn:x"], "EventBusName": "b"}) == outbox.entry_size(entry) + 5
    del entry["Time"]
    assert outbox.entry_size(entry) == 3 + 17 + 12  # é is 2 bytes, € 3
    assert outbox.entry_size(outbox.entry(envelope(1), SETTINGS)) == aws_entry_size(outbox.entry(envelope(1), SETTINGS))


def test_two_pages_of_173_kb_go_in_two_calls_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The failure the issue saw: two 500-member pages (173 KB each) were put in one call and refused."""
    client = fake(monkeypatch)
    assert publish(records(sized_record(1, 173_000), sized_record(2, 173_000)), SETTINGS) == []
    assert client.refused == []
    assert sent_ids(client) == [["e1"], ["e2"]]


def test_a_call_is_filled_up_to_256_kb_and_no_further(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    half = LIMIT // 2
    publish(
        records(sized_record(1, half), sized_record(2, half), sized_record(3, half), sized_record(4, half + 1)),
        SETTINGS,
    )
    assert sent_sizes(client) == [[half, half], [half], [half + 1]]
    assert sent_ids(client) == [["e1", "e2"], ["e3"], ["e4"]]


def test_packing_by_count_and_size_keeps_order_and_publishes_each_once(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    sizes = [300, 66_000, 300, 300, 120_000, 66_000, 66_000, 66_000, 66_000] + [400] * 15 + [250_000, 300]
    assert publish(records(*(sized_record(n, s) for n, s in enumerate(sizes))), SETTINGS) == []
    assert client.refused == []
    assert all(len(call) <= 10 and sum(sizes) <= LIMIT for sizes in sent_sizes(client) for call in [sizes])
    assert [i for call in sent_ids(client) for i in call] == [f"e{n}" for n in range(len(sizes))]
    assert [len(call) for call in client.calls] == [6, 10, 10]  # as few calls as the limits allow


def test_an_entry_exactly_at_the_limit_is_put_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    queue = fake_sqs(monkeypatch)
    assert publish(records(outbox_record(1), sized_record(2, LIMIT), outbox_record(3)), SETTINGS) == []
    assert sent_ids(client) == [["e1"], ["e2"], ["e3"]]
    assert queue.sent == []


def test_an_entry_over_256_kb_is_set_aside_and_the_rest_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    queue = fake_sqs(monkeypatch)
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(outbox.logger, "error", lambda msg, extra: logged.append((msg, extra)))
    stream = records(outbox_record(1), sized_record(2, LIMIT + 1), outbox_record(3))

    assert publish(stream, SETTINGS) == []  # nothing retried: the stream moves on

    assert client.refused == []  # never sent to EventBridge, which would refuse the call
    assert sent_ids(client) == [["e1"], ["e3"]]
    [aside] = queue.sent
    assert aside["QueueUrl"] == "https://sqs/failed"
    assert aside["reason"] == "EntryTooLarge"
    assert (aside["entry_size"], aside["limit"]) == (LIMIT + 1, LIMIT)
    assert aside["sequence_number"] == "1002"
    assert aside["keys"] == {"pk": "OUTBOX#e2", "sk": "OUTBOX"}
    assert aside["event"]["id"] == "e2" and aside["event"]["type"] == "account.created"
    assert "data" not in aside["event"]  # the event itself stays in the table's outbox item
    assert [msg for msg, _ in logged] == ["outbox entry too large to publish"]
    assert metrics.metric_set["OutboxEntryTooLarge"]["Value"] == [1.0]


def test_an_entry_set_aside_is_not_set_aside_again_when_a_later_batch_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch, failing={2})
    queue = fake_sqs(monkeypatch)
    raw = [outbox_record(1), sized_record(2, LIMIT + 1), outbox_record(3), outbox_record(4)]
    assert publish(records(*raw), SETTINGS) == ["1003"]  # the stream retries from e3, after the big one
    assert sent_ids(client) == [["e1"], ["e3", "e4"]]
    assert len(queue.sent) == 1

    client.failing = set()
    assert publish(records(*raw[2:]), SETTINGS) == []
    assert len(queue.sent) == 1


def test_when_the_failure_queue_is_down_the_stream_retries_from_the_big_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    client = fake(monkeypatch)
    fake_sqs(monkeypatch, down=True)
    stream = records(outbox_record(1), sized_record(2, LIMIT + 1), outbox_record(3))
    assert publish(stream, SETTINGS) == ["1002"]
    assert sent_ids(client) == [["e1"]]  # what came before is out; nothing after it yet
