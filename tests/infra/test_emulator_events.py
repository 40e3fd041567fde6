"""The emulator's EventBridge refuses a PutEvents call over 1 MB, as AWS does (moto takes any size).

AWS raised the limit from 256 KB to 1 MB in January 2026 ("the total entry size must be less than
1MB", PutEvents API reference); docs/decisions.md lists the limits the emulator enforces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.emulator import Emulator

LIMIT = 1024 * 1024
SOURCE, DETAIL_TYPE = "kontakt.test", "probe.sized"


@pytest.fixture(scope="module")
def aws(empty_emulator: Emulator) -> Iterator[tuple[Any, Any]]:
    emulator = empty_emulator
    events, sqs = emulator.client("events"), emulator.client("sqs")
    queue_url = sqs.create_queue(QueueName="probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="bus")
    events.put_rule(Name="all", EventBusName="bus", EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="all", EventBusName="bus", Targets=[{"Id": "q", "Arn": queue_arn}])
    yield events, (sqs, queue_url)


def entry(name: str, size: int) -> dict[str, Any]:
    """An entry of `size` bytes as AWS counts them: Time 14, Source, DetailType and Detail in UTF-8."""
    bare = 14 + len(SOURCE) + len(DETAIL_TYPE) + len(json.dumps({"name": name, "pad": ""}))
    pad = "é" * ((size - bare) // 2) + "x" * ((size - bare) % 2)  # é: two bytes, one character
    detail = json.dumps({"name": name, "pad": pad}, ensure_ascii=False)
    assert 14 + len(SOURCE) + len(DETAIL_TYPE) + len(detail.encode()) == size
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": detail,
        "EventBusName": "bus",
        "Time": datetime.now(UTC),
    }


def delivered(queue: tuple[Any, str]) -> list[str]:
    sqs, url = queue
    names = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        names += [json.loads(m["Body"])["detail"]["name"] for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
        )
    return sorted(names)


def test_a_call_over_1_mb_is_refused_whole(aws: tuple[Any, Any]) -> None:
    events, queue = aws
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[entry("a", 600_000), entry("b", LIMIT - 600_000 + 1)])
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "Total size of the entries in the request is over the limit."
    assert delivered(queue) == []  # not one entry of the refused call went out


def test_an_entry_over_1_mb_is_refused_alone(aws: tuple[Any, Any]) -> None:
    events, queue = aws
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[entry("big", LIMIT + 1)])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert delivered(queue) == []


def test_calls_up_to_1_mb_go_through(aws: tuple[Any, Any]) -> None:
    events, queue = aws
    half = LIMIT // 2
    for call in (
        [entry("a", 173_000), entry("b", 173_000)],  # two audience pages: refused by AWS until 2026
        [entry("c", half), entry("d", half)],
        [entry("e", LIMIT)],
    ):
        assert events.put_events(Entries=call)["FailedEntryCount"] == 0
    # "e" is accepted, but its event (the entry and the event's own fields) is over SQS's 1 MiB: the
    # delivery to the queue fails, as in AWS, and the call that put it does not.
    assert delivered(queue) == ["a", "b", "c", "d"]


def test_more_than_ten_entries_are_still_refused(aws: tuple[Any, Any]) -> None:
    events, _ = aws
    with pytest.raises(ClientError) as refused:
        events.put_events(Entries=[entry(str(n), 100) for n in range(11)])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
