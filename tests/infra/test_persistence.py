"""`kontakt dev`'s saved state (infra/persistence.py) in parts: the gate that keeps a snapshot
consistent, which requests call for one, atomic writes, and snapshots that must not be loaded.
Saving and loading a whole stack: tests/e2e/test_dev_persistence.py."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from infra import emulator, persistence, sms_emulation

HEADER = {"format": persistence.FORMAT, "moto": "5.1.22", "python": "3.11", "stack": "abc"}


def test_a_snapshot_waits_for_the_requests_in_progress_and_holds_new_ones() -> None:
    gate = persistence.Gate()
    order: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def request(name: str, wait: threading.Event | None = None) -> None:
        with gate.request():
            order.append(f"{name} in")
            inside.set()
            if wait is not None:
                wait.wait(5)
            order.append(f"{name} out")

    first = threading.Thread(target=request, args=("first", release))
    first.start()
    assert inside.wait(5)

    def snapshot() -> None:
        with gate.closed():
            order.append("snapshot")

    taker = threading.Thread(target=snapshot)
    taker.start()
    time.sleep(0.1)
    second = threading.Thread(target=request, args=("second",))
    second.start()
    time.sleep(0.1)
    assert order == ["first in"]  # the snapshot waits for the first; the second waits for the snapshot
    release.set()
    for thread in (first, taker, second):
        thread.join(5)
    assert order == ["first in", "first out", "snapshot", "second in", "second out"]


def test_a_long_poll_lets_a_snapshot_through_while_it_waits() -> None:
    gate = persistence.Gate()
    waiting, done = threading.Event(), threading.Event()

    def long_poll() -> None:
        with gate.request(), gate.aside():
            waiting.set()
            done.wait(5)

    poll = threading.Thread(target=long_poll)
    poll.start()
    assert waiting.wait(5)
    taken = threading.Event()

    def snapshot() -> None:
        with gate.closed():
            taken.set()

    threading.Thread(target=snapshot).start()
    assert taken.wait(2), "a waiting long poll held the snapshot"
    done.set()
    poll.join(5)


@pytest.mark.parametrize(
    ("environ", "changes"),
    [
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem", "REQUEST_METHOD": "POST"}, True),
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.TransactWriteItems", "REQUEST_METHOD": "POST"}, True),
        ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query", "REQUEST_METHOD": "POST"}, False),
        ({"HTTP_X_AMZ_TARGET": "DynamoDBStreams_20120810.GetRecords", "REQUEST_METHOD": "POST"}, False),
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage", "REQUEST_METHOD": "POST"}, False),
        ({"HTTP_X_AMZ_TARGET": "AmazonSQS.DeleteMessage", "REQUEST_METHOD": "POST"}, True),
        ({"HTTP_X_AMZ_TARGET": "secretsmanager.GetSecretValue", "REQUEST_METHOD": "POST"}, False),
        ({"REQUEST_METHOD": "PUT", "PATH_INFO": "/bucket/key"}, True),
        ({"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key"}, False),
        ({"REQUEST_METHOD": "POST", "QUERY_STRING": "Action=GetCallerIdentity"}, False),
        ({"REQUEST_METHOD": "POST", "QUERY_STRING": ""}, True),  # a query-protocol call in its body
    ],
)
def test_only_requests_that_may_change_state_call_for_a_snapshot(environ: dict[str, Any], changes: bool) -> None:
    assert persistence.changes_state(environ) is changes


def test_a_write_that_fails_leaves_the_last_snapshot_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state" / persistence.STATE_FILE
    persistence.write_atomically(path, b"the last snapshot")

    def no_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_disk)
    with pytest.raises(OSError, match="No space"):
        persistence.write_atomically(path, b"half of the next")
    assert path.read_bytes() == b"the last snapshot"
    assert sorted(p.name for p in path.parent.iterdir()) == [persistence.STATE_FILE]  # no temporary left


def _snapshot(header: dict[str, Any], body: bytes) -> bytes:
    import json

    return persistence.MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (_snapshot({**HEADER, "moto": "5.0.0"}, b"never unpickled"), "moto '5.0.0' -> '5.1.22'"),
        (_snapshot({**HEADER, "stack": "def"}, b"never unpickled"), "stack 'def' -> 'abc'"),
        (_snapshot(HEADER, b"\x80\x05damaged"), "cannot be read"),
        (b"something else", "not a Kontakt emulator snapshot"),
    ],
)
def test_a_snapshot_of_another_version_or_stack_or_a_damaged_one_starts_empty_with_a_message(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / persistence.STATE_FILE
    path.write_bytes(content)
    answer = emulator._restore(path, HEADER)
    assert "restored" not in answer
    assert answer["message"].startswith(f"the saved state {path} is not loaded")
    assert reason in answer["message"] and "starting empty" in answer["message"]
    [kept] = list(tmp_path.glob(f"{persistence.STATE_FILE}.*.stale"))  # kept beside, never loaded again
    assert kept.read_bytes() == content and not path.exists()


def test_no_saved_state_starts_empty_without_a_message(tmp_path: Path) -> None:
    assert emulator._restore(tmp_path / persistence.STATE_FILE, HEADER) == {}


def test_a_snapshot_fits_a_template_whose_resources_are_the_same_whatever_its_functions() -> None:
    from infra.template import Function, Stack, Table

    def stack(indexes: list[dict[str, Any]], memory: int) -> Any:
        table = Table("T", "kontakt-dev-t", "arn:t", [{"AttributeName": "pk", "KeyType": "HASH"}], [], indexes)
        function = Function("F", "kontakt-dev-f", "arn:f", "app.handler", "services/f", 5, memory, {})
        return Stack("kontakt", "eu-north-1", "123456789012", {"Stage": "dev"}, {"T": table}, functions={"F": function})

    index = {"IndexName": "by_x", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}]}
    first = persistence.stamp(emulator.provisioned(stack([], 512)))
    assert persistence.stamp(emulator.provisioned(stack([], 1024))) == first  # a function's change keeps the data
    assert persistence.stamp(emulator.provisioned(stack([index], 512))) != first  # a new index does not


def _visible(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return str(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_an_emulator_loads_what_it_saved_and_messages_held_by_a_consumer_come_back(tmp_path: Path) -> None:
    state = tmp_path / persistence.STATE_FILE
    first = emulator.Emulator(state_file=state, header=HEADER)
    first.start()
    try:
        dynamodb, sqs = first.client("dynamodb"), first.client("sqs")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "kept"}})
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        for body in ("held", "waiting"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=900)  # its consumer dies
        first.client("secretsmanager").create_secret(Name="key", SecretString="s3cret")
        s3 = first.client("s3")
        s3.create_bucket(Bucket="kontakt-files", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
        s3.put_object(Bucket="kontakt-files", Key="uploads/a.csv", Body=b"name\nAcme")
        first.client("scheduler").create_schedule(
            Name="reminder",
            ScheduleExpression="at(2030-01-01T00:00:00)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": "arn:aws:sqs:eu-north-1:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"},
        )
        assert first.snapshot({"streams": {}})[0] == "saved"
        assert first.snapshot({"streams": {}}) == ("unchanged", "")  # nothing changed since
        dynamodb.get_item(TableName="t", Key={"pk": {"S": "kept"}})
        assert first.snapshot({"streams": {}}) == ("unchanged", "")  # a read changes nothing
    finally:
        first.stop()

    second = emulator.Emulator(state_file=state, header=HEADER)
    second.start()
    try:
        assert second.restored == {"streams": {}} and "loaded the saved state" in second.state_message
        item = second.client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "kept"}})
        assert item["Item"] == {"pk": {"S": "kept"}}
        sqs = second.client("sqs")
        assert _visible(sqs, sqs.get_queue_url(QueueName="q")["QueueUrl"]) == "2"
        assert second.client("secretsmanager").get_secret_value(SecretId="key")["SecretString"] == "s3cret"
        upload = second.client("s3").get_object(Bucket="kontakt-files", Key="uploads/a.csv")
        assert upload["Body"].read() == b"name\nAcme"
        schedule = second.client("scheduler").get_schedule(Name="reminder")
        assert schedule["ScheduleExpression"] == "at(2030-01-01T00:00:00)"
        second._process.kill()
        second._process.join(5)
        outcome, detail = second.snapshot({"streams": {}})
        assert outcome == "failed" and "gone" in detail
    finally:
        second.stop()


def test_a_saved_state_that_lacks_a_resource_of_the_stack_stops_the_start_with_what_to_do() -> None:
    from infra.template import translate

    template = translate(Path(__file__).parent / "fixtures")
    empty = emulator.Emulator()  # as a state whose tables were deleted by hand since
    empty.start()
    try:
        with pytest.raises(RuntimeError, match=r"lacks a resource of the stack .*kontakt dev --fresh"):
            emulator.provision(empty, template, {"Stage": "test"}, existing=True)
    finally:
        empty.stop()


def test_a_rewind_puts_back_the_checkpoint_and_drops_what_came_after(tmp_path: Path) -> None:
    """The integration tests' reset between modules (tests/integration/conftest.py)."""
    aws = emulator.Emulator(sms_dir=tmp_path / "sms")
    aws.start()
    try:
        dynamodb, sqs, sms = aws.client("dynamodb"), aws.client("sqs"), aws.client("pinpoint-sms-voice-v2")
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "kept"}})
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        sms.create_configuration_set(ConfigurationSetName="texts")
        sms.send_text_message(DestinationPhoneNumber="+46700000001", MessageBody="before")
        aws.checkpoint()

        dynamodb.put_item(TableName="t", Item={"pk": {"S": "later"}})
        dynamodb.delete_item(TableName="t", Key={"pk": {"S": "kept"}})
        sqs.send_message(QueueUrl=url, MessageBody="later")
        sqs.create_queue(QueueName="later")
        aws.client("secretsmanager").create_secret(Name="later", SecretString="s")
        sms.delete_configuration_set(ConfigurationSetName="texts")
        sms.send_text_message(DestinationPhoneNumber="+46700000002", MessageBody="after")
        for _ in range(2):  # a rewind leaves the checkpoint as it was: the next one gives the same state
            aws.rewind()
            assert [i["pk"]["S"] for i in dynamodb.scan(TableName="t")["Items"]] == ["kept"]
            assert dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
            assert _visible(sqs, url) == "0"
            assert sqs.list_queues()["QueueUrls"] == [url]
            assert aws.client("secretsmanager").list_secrets()["SecretList"] == []
            names = [s["ConfigurationSetName"] for s in sms.describe_configuration_sets()["ConfigurationSets"]]
            assert names == ["texts"]
            assert [m["MessageBody"] for m in sms_emulation.sent_messages(aws.sms_dir)] == ["before"]
            dynamodb.put_item(TableName="t", Item={"pk": {"S": "again"}})  # the rewound state takes writes
            sqs.send_message(QueueUrl=url, MessageBody="again")
            assert _visible(sqs, url) == "1"
    finally:
        aws.stop()
