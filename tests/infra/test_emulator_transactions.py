"""The emulator's DynamoDB transactions: all or nothing, with DynamoDB's cancellation reasons."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.emulator import Emulator


@pytest.fixture(scope="module")
def emulator(empty_emulator: Emulator) -> Emulator:
    return empty_emulator


@pytest.fixture(scope="module")
def dynamodb(emulator: Emulator) -> Any:
    client = emulator.client("dynamodb")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return client


def _put(pk: str, condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": "t", "Item": {"pk": {"S": pk}, "v": {"N": "1"}}}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_a_failed_condition_cancels_every_write(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "taken"}})
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[_put("new"), _put("taken", "attribute_not_exists(pk)")])
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "new"}})


def test_two_operations_on_one_item_are_refused(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[_put("twice"), _put("twice")])
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_writes_after_a_cancelled_transaction_reach_the_open_stream_iterator(emulator: Emulator, dynamodb: Any) -> None:
    streams = emulator.client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "held"}})
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[_put("held", "attribute_not_exists(pk)")])
    dynamodb.transact_write_items(TransactItems=[_put("after")])
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=iterator)["Records"]]
    assert keys == ["held", "after"]
