"""The outbox publisher's batching and failure reporting, with a fake EventBridge client."""

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

pytestmark = pytest.mark.disable_socket

SETTINGS = PublisherSettings(event_source="kontakt.directory", event_bus_name="bus-1")


class FakeEvents:
    """Records each put_events call; fails the calls whose number is in `failing` (1-based)."""

    def __init__(self, failing: set[int] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.failing = failing or set()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        failed = 1 if len(self.calls) in self.failing else 0
        return {"FailedEntryCount": failed, "Entries": [{"EventId": "x"} for _ in Entries]}


@pytest.fixture(autouse=True)
def no_metrics_left() -> Iterator[None]:
    yield
    metrics.clear_metrics()


def fake(monkeypatch: pytest.MonkeyPatch, failing: set[int] | None = None) -> FakeEvents:
    client = FakeEvents(failing)
    monkeypatch.setattr(outbox, "_events_client", lambda: client)
    return client


def envelope(n: int) -> Envelope:
    return Envelope(
        id=f"e{n}",
        type="account.created",
        tenant_id="t1",
        occurred_at="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
        actor=SYSTEM,
        correlation_id=f"c{n}",
        data={"n": n},
    )


def outbox_record(n: int) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": str(1000 + n),
            "NewImage": {
                "pk": {"S": f"OUTBOX#e{n}"},
                "sk": {"S": "OUTBOX"},
                "kind": {"S": "outbox"},
                "envelope": {"S": envelope(n).model_dump_json()},
            },
        },
    }


def other_record(n: int, event_name: str = "INSERT") -> dict[str, Any]:
    image = {"pk": {"S": f"T#t1#ACCOUNT#{n}"}, "sk": {"S": "ACCOUNT"}, "kind": {"S": "account"}}
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
