"""The emulator refuses what AWS refuses for its size: SQS messages, DynamoDB items, transactions and
batch writes, SES v2 mails (PutEvents: test_emulator_events.py), each with AWS's error code, and takes
what is just within. moto accepted each of these, or counted them otherwise (docs/decisions.md)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.exceptions import JsonRESTError

from infra import aws_limits
from infra.aws_limits import item_size, sqs_message_size
from infra.emulator import Emulator

MIB = 1024 * 1024
ITEM_LIMIT = 400 * 1024


@pytest.fixture(scope="module")
def emulator(empty_emulator: Emulator) -> Emulator:
    return empty_emulator


def _refused(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    return dict(refused.value.response["Error"])


# ---------------------------------------------------------------- SQS


@pytest.fixture(scope="module")
def queues(emulator: Emulator) -> tuple[Any, str, str]:
    sqs = emulator.client("sqs")
    default = sqs.create_queue(QueueName="limits")["QueueUrl"]  # MaximumMessageSize: 1 MiB by default
    small = sqs.create_queue(QueueName="small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    return sqs, default, small


def _body(size: int) -> str:
    """`size` bytes of UTF-8 in size // 2 characters: moto counted characters."""
    return "é" * (size // 2) + "x" * (size % 2)


def test_a_message_is_sized_in_bytes_with_its_attributes(queues: tuple[Any, str, str]) -> None:
    sqs, url, _ = queues
    for body, attributes in (
        (_body(MIB + 1), {}),  # 524,289 characters: moto took it
        (_body(MIB - 10), {"k": {"DataType": "String", "StringValue": "0123456789"}}),  # 1 + 6 + 10 bytes
    ):
        error = _refused(sqs.send_message, QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        assert error["Code"] == "InvalidParameterValue"
        assert error["Message"].endswith("Message must be shorter than 1048576 bytes.")
    attributes = {"k": {"DataType": "String", "StringValue": "0123"}}
    assert sqs_message_size(_body(MIB - 11), attributes) == MIB
    sqs.send_message(QueueUrl=url, MessageBody=_body(MIB - 11), MessageAttributes=attributes)
    received = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert received["Body"] == _body(MIB - 11) and received["MessageAttributes"]["k"]["StringValue"] == "0123"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])


def test_a_queue_takes_messages_up_to_its_own_maximum(queues: tuple[Any, str, str]) -> None:
    sqs, _, small = queues
    error = _refused(sqs.send_message, QueueUrl=small, MessageBody=_body(1025))
    assert error["Code"] == "InvalidParameterValue" and "shorter than 1024 bytes" in error["Message"]
    sqs.send_message(QueueUrl=small, MessageBody=_body(1024))


def test_a_batch_holds_1_mib_in_all(queues: tuple[Any, str, str]) -> None:
    sqs, url, _ = queues
    over = [{"Id": "a", "MessageBody": _body(600_000)}, {"Id": "b", "MessageBody": _body(600_000)}]
    error = _refused(sqs.send_message_batch, QueueUrl=url, Entries=over)  # 600,000 characters: moto took it
    assert error["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"  # SQS's query-compatible code
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "0"
    }
    within = [{"Id": "a", "MessageBody": _body(MIB // 2)}, {"Id": "b", "MessageBody": _body(MIB // 2)}]
    assert len(sqs.send_message_batch(QueueUrl=url, Entries=within)["Successful"]) == 2


# ---------------------------------------------------------------- DynamoDB


@pytest.fixture(scope="module")
def dynamodb(emulator: Emulator) -> Any:
    client = emulator.client("dynamodb")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _item(pk: str, size: int, **extra: Any) -> dict[str, Any]:
    """An item of `size` bytes as DynamoDB counts them: pk, the extra attributes, and `pad`."""
    item = {"pk": {"S": pk}, **extra, "pad": {"S": ""}}
    item["pad"] = {"S": "x" * (size - item_size(item))}
    assert item_size(item) == size
    return item


def _exists(dynamodb: Any, pk: str) -> bool:
    return "Item" in dynamodb.get_item(TableName="t", Key={"pk": {"S": pk}}, ProjectionExpression="pk")


def test_an_item_holds_400_kb_counted_as_dynamodb_counts(dynamodb: Any) -> None:
    flags = {"flags": {"L": [{"BOOL": True}] * 10_000}}  # 5 + 3 + 20,000 bytes (moto: 10,005)
    for pk, item in (("over", _item("over", ITEM_LIMIT + 1)), ("listed", _item("listed", ITEM_LIMIT + 1, **flags))):
        error = _refused(dynamodb.put_item, TableName="t", Item=item)
        assert error == {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}
        assert not _exists(dynamodb, pk)
    dynamodb.put_item(TableName="t", Item=_item("full", ITEM_LIMIT))  # moto refused from 405,000
    dynamodb.put_item(TableName="t", Item=_item("full-list", ITEM_LIMIT, **flags))
    assert _exists(dynamodb, "full") and _exists(dynamodb, "full-list")


def test_an_update_is_sized_as_the_item_would_be_after_it(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item=_item("grown", 300_000))
    update = {"TableName": "t", "Key": {"pk": {"S": "grown"}}, "UpdateExpression": "SET more = :v"}
    error = _refused(dynamodb.update_item, **update, ExpressionAttributeValues={":v": {"S": "y" * 109_597}})
    assert error == {"Code": "ValidationException", "Message": aws_limits.ITEM_TO_UPDATE_TOO_LARGE}
    stored = dynamodb.get_item(TableName="t", Key={"pk": {"S": "grown"}})["Item"]
    assert "more" not in stored and item_size(stored) == 300_000
    dynamodb.update_item(**update, ExpressionAttributeValues={":v": {"S": "y" * 109_596}})  # 300,000 + 4 + 109,596
    assert item_size(dynamodb.get_item(TableName="t", Key={"pk": {"S": "grown"}})["Item"]) == ITEM_LIMIT
    new = {"TableName": "t", "Key": {"pk": {"S": "new"}}, "UpdateExpression": "SET more = :v"}
    error = _refused(dynamodb.update_item, **new, ExpressionAttributeValues={":v": {"S": "y" * ITEM_LIMIT}})
    assert error["Code"] == "ValidationException" and not _exists(dynamodb, "new")  # moto kept the key


def test_a_transaction_holds_4_mb_of_items_and_100_actions(dynamodb: Any) -> None:
    def puts(prefix: str, count: int) -> list[dict[str, Any]]:
        return [{"Put": {"TableName": "t", "Item": _item(f"{prefix}{n}", ITEM_LIMIT)}} for n in range(count)]

    error = _refused(dynamodb.transact_write_items, TransactItems=puts("eleven-", 11))  # 4,505,600 bytes
    assert error["Code"] == "ValidationException" and "4 MB" in error["Message"]
    assert not _exists(dynamodb, "eleven-0")
    dynamodb.transact_write_items(TransactItems=puts("ten-", 10))  # 4,096,000 bytes
    assert _exists(dynamodb, "ten-9")
    small = [{"Put": {"TableName": "t", "Item": _item(f"small-{n}", 20)}} for n in range(101)]
    error = _refused(dynamodb.transact_write_items, TransactItems=small)  # moto_patches: at most 100 actions
    assert error["Code"] == "ValidationException" and "less than or equal to 100" in error["Message"]
    dynamodb.transact_write_items(TransactItems=small[:100])


def test_an_item_too_large_cancels_its_transaction_before_any_write(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item=_item("counter", 400_000))
    first = {"Put": {"TableName": "t", "Item": _item("first", 100)}}
    for action, message in (
        ({"Put": {"TableName": "t", "Item": _item("huge", ITEM_LIMIT + 1)}}, "Item size has exceeded"),
        (
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "counter"}},
                    "UpdateExpression": "SET more = :v",
                    "ExpressionAttributeValues": {":v": {"S": "y" * 9_597}},  # 400,000 + 4 + 9,597
                }
            },
            "Item size to update has exceeded",
        ),
    ):
        with pytest.raises(ClientError) as refused:
            dynamodb.transact_write_items(TransactItems=[first, action])
        assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
        reasons = refused.value.response["CancellationReasons"]
        assert reasons[0] == {"Code": "None"}
        assert reasons[1]["Code"] == "ValidationError" and reasons[1]["Message"].startswith(message)
        assert not _exists(dynamodb, "first")  # moto had written the actions before the large one
    assert "more" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "counter"}})["Item"]


def test_a_batch_write_holds_25_requests_each_within_400_kb(dynamodb: Any) -> None:
    def batch(prefix: str, count: int, size: int = 100) -> dict[str, Any]:
        return {"t": [{"PutRequest": {"Item": _item(f"{prefix}{n}", size)}} for n in range(count)]}

    error = _refused(dynamodb.batch_write_item, RequestItems=batch("many-", 26))
    assert error["Code"] == "ValidationException" and "less than or equal to 25" in error["Message"]
    assert not _exists(dynamodb, "many-0")
    large = batch("large-", 2)
    large["t"].append({"PutRequest": {"Item": _item("large-2", ITEM_LIMIT + 1)}})
    error = _refused(dynamodb.batch_write_item, RequestItems=large)
    assert error == {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}
    assert not _exists(dynamodb, "large-0")  # moto had written the items before the large one
    assert dynamodb.batch_write_item(RequestItems=batch("ok-", 25))["UnprocessedItems"] == {}
    assert _exists(dynamodb, "ok-24")


# ---------------------------------------------------------------- SES v2


def _mail(size: int) -> bytes:
    """A MIME message of exactly `size` bytes, lines of at most 1,000 characters."""
    head = b"From: a@kontakt.dev\r\nTo: b@example.com\r\nSubject: large\r\nContent-Type: text/plain\r\n\r\n"
    line = b"x" * 998 + b"\r\n"
    lines, rest = divmod(size - len(head), len(line))
    mail = head + line * lines + b"y" * rest
    assert len(mail) == size
    return mail


def test_a_mail_over_40_mb_is_refused(emulator: Emulator) -> None:
    ses = emulator.client("sesv2")
    ses.create_email_identity(EmailIdentity="kontakt.dev")
    request = {"FromEmailAddress": "a@kontakt.dev", "Destination": {"ToAddresses": ["b@example.com"]}}
    limit = 40 * MIB
    error = _refused(ses.send_email, **request, Content={"Raw": {"Data": _mail(limit + 1)}})
    assert error["Code"] == "BadRequestException"
    assert error["Message"] == f"Message length is more than {limit} bytes long: '{limit + 1}'."


def test_a_mail_of_40_mb_goes_to_moto() -> None:
    """Just within the limit (moto takes seconds over 40 MB: not sent through it here). The size is
    the message's, the request's base64 decoded: 4 characters for 3 bytes, less the padding."""
    sent = []

    class Request:
        def __init__(self, data: str) -> None:
            self.body = json.dumps({"Content": {"Raw": {"Data": data}}})

    send_email = aws_limits._sized_mail(lambda request: sent.append(request) or "{}")
    limit = 40 * MIB  # 41,943,040 = 3 * 13,981,013 + 1: its base64 ends in "=="
    within = Request("A" * (limit // 3 * 4) + "AA==")
    assert send_email(within) == "{}" and sent == [within]
    with pytest.raises(JsonRESTError) as refused:
        send_email(Request("A" * (limit // 3 * 4) + "AAA="))
    assert refused.value.error_type == "BadRequestException" and sent == [within]
    assert aws_limits._binary_length("AAAA" + "AA==") == len(base64.b64decode("AAAAAA==")) == 4


def test_the_sizes_are_dynamodbs(emulator: Emulator) -> None:
    """The item size rules the limits use ("DynamoDB item sizes and formats")."""
    assert item_size({"a": {"S": "éé"}}) == 1 + 4
    assert item_size({"n": {"N": "-00123.4500"}}) == 1 + (5 + 1) // 2 + 1  # 12345: 5 significant digits
    assert item_size({"b": {"B": base64.b64encode(b"12345").decode()}}) == 1 + 5
    assert item_size({"t": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert item_size({"m": {"M": {"k": {"S": "v"}}}, "l": {"L": []}}) == (1 + 3 + 1 + 1 + 1) + (1 + 3)
    assert item_size({"s": {"SS": ["a", "bc"]}, "ns": {"NS": ["10", "1"]}}) == (1 + 3) + (2 + 2 + 2)
