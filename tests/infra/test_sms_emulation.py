"""The emulator answers End User Messaging SMS (pinpoint-sms-voice-v2) as AWS does for the calls
Kontakt makes, through boto3: configuration sets, SendTextMessage and its checks, the delivery
events on the default bus with the send's context, AWS's failing simulator numbers, and the
folder of sent messages (infra/sms_emulation.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.emulator import Emulator
from infra.sms_emulation import sent_messages

SET = "kontakt-test-sms"


@pytest.fixture(scope="module")
def aws(empty_emulator: Emulator) -> Iterator[tuple[Emulator, Any, Any, str]]:
    emulator = empty_emulator
    sms, events, sqs = emulator.client("pinpoint-sms-voice-v2"), emulator.client("events"), emulator.client("sqs")
    url = sqs.create_queue(QueueName="receipts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.sms-voice"], "detail-type": ["Text Message Delivery Status Updated"]}
    events.put_rule(Name="receipts", EventPattern=json.dumps(pattern))  # the default bus, as AWS sends them
    events.put_targets(Rule="receipts", Targets=[{"Id": "q", "Arn": arn}])
    sms.create_configuration_set(ConfigurationSetName=SET)
    yield emulator, sms, sqs, url


def receipts(sqs: Any, url: str) -> list[dict[str, Any]]:
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(m["Body"])["detail"] for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
        )
    return found


def test_a_message_is_accepted_kept_and_reported_delivered_with_its_context(aws: Any) -> None:
    emulator, sms, sqs, url = aws
    context = {"tenant_id": "t1", "message_id": "m1"}
    body = "Hei! Alennus 20 € " + "x" * 150  # 170 septets: two parts
    answer = sms.send_text_message(
        DestinationPhoneNumber="+358401234567",
        OriginationIdentity="Kontakt",
        MessageBody=body,
        MessageType="PROMOTIONAL",
        ConfigurationSetName=SET,
        Context=context,
    )
    found = receipts(sqs, url)
    assert [(r["eventType"], r["isFinal"]) for r in found] == [("TEXT_SUCCESSFUL", False), ("TEXT_DELIVERED", True)]
    assert {r["messageId"] for r in found} == {answer["MessageId"]}
    assert all(r["context"] == context and r["totalMessageParts"] == 2 for r in found)
    assert found[0]["messageEncoding"] == "GSM" and found[0]["destinationPhoneNumber"] == "+358401234567"
    kept = sent_messages(emulator.sms_dir)[-1]
    assert (kept["MessageId"], kept["MessageBody"], kept["Context"]) == (answer["MessageId"], body, context)


def test_the_failing_simulator_number_is_reported_unreachable(aws: Any) -> None:
    _, sms, sqs, url = aws
    sms.send_text_message(DestinationPhoneNumber="+3584573979111", MessageBody="Hej", ConfigurationSetName=SET)
    assert [(r["eventType"], r["messageStatus"]) for r in receipts(sqs, url)] == [("TEXT_UNREACHABLE", "UNREACHABLE")]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"DestinationPhoneNumber": "0401234567", "MessageBody": "x"}, "ValidationException"),
        ({"DestinationPhoneNumber": "+358401234567", "MessageBody": "x" * 1601}, "ValidationException"),
        ({"DestinationPhoneNumber": "+358401234567", "MessageBody": "x", "MessageType": "BULK"}, "ValidationException"),
        (
            {"DestinationPhoneNumber": "+358401234567", "MessageBody": "x", "ConfigurationSetName": "nope"},
            "ResourceNotFoundException",
        ),
    ],
)
def test_a_refused_send_says_why_and_sends_nothing(aws: Any, params: dict[str, Any], code: str) -> None:
    emulator, sms, sqs, url = aws
    before = len(sent_messages(emulator.sms_dir))
    with pytest.raises(ClientError) as refused:
        sms.send_text_message(**params)
    assert refused.value.response["Error"]["Code"] == code
    assert len(sent_messages(emulator.sms_dir)) == before and receipts(sqs, url) == []


def test_configuration_sets_are_created_listed_and_refused_twice(aws: Any) -> None:
    _, sms, _, _ = aws
    with pytest.raises(ClientError) as twice:
        sms.create_configuration_set(ConfigurationSetName=SET)
    assert twice.value.response["Error"]["Code"] == "ConflictException"
    names = [s["ConfigurationSetName"] for s in sms.describe_configuration_sets()["ConfigurationSets"]]
    assert names == [SET]
