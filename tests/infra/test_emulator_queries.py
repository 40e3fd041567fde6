"""The emulator's DynamoDB Query reads one partition (of the table or an index), with moto's answers."""

from __future__ import annotations

from typing import Any

import pytest

from infra.emulator import Emulator


@pytest.fixture(scope="module")
def emulator(empty_emulator: Emulator) -> Emulator:
    return empty_emulator


@pytest.fixture(scope="module")
def dynamodb(emulator: Emulator) -> Any:
    client = emulator.client("dynamodb")
    strings = ("pk", "sk", "gpk", "gsk")
    client.create_table(
        TableName="q",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in strings],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _item(pk: str, sk: str, gpk: str | None = None, gsk: str | None = None) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}}
    if gpk is not None:
        item["gpk"] = {"S": gpk}
    if gsk is not None:
        item["gsk"] = {"S": gsk}
    return item


def _table(dynamodb: Any, pk: str, **extra: Any) -> list[str]:
    items = dynamodb.query(
        TableName="q", KeyConditionExpression="pk = :v", ExpressionAttributeValues={":v": {"S": pk}}, **extra
    )["Items"]
    return [i["sk"]["S"] for i in items]


def _index(dynamodb: Any, gpk: str, **extra: Any) -> list[str]:
    items = dynamodb.query(
        TableName="q",
        IndexName="by_g",
        KeyConditionExpression="gpk = :v",
        ExpressionAttributeValues={":v": {"S": gpk}},
        **extra,
    )["Items"]
    return [f"{i['pk']['S']}/{i['sk']['S']}" for i in items]


def test_a_table_query_reads_its_partition_in_order(dynamodb: Any) -> None:
    for sk in ("c", "a", "b"):
        dynamodb.put_item(TableName="q", Item=_item("p1", sk))
    dynamodb.put_item(TableName="q", Item=_item("p2", "a"))
    assert _table(dynamodb, "p1") == ["a", "b", "c"]
    assert _table(dynamodb, "p1", ScanIndexForward=False, Limit=2) == ["c", "b"]
    assert _table(dynamodb, "nobody") == []


def test_an_index_query_follows_puts_updates_and_deletes(dynamodb: Any) -> None:
    assert _index(dynamodb, "G") == []  # the index's partitions are known from here on
    dynamodb.put_item(TableName="q", Item=_item("i1", "x", "G", "2"))
    dynamodb.put_item(TableName="q", Item=_item("i2", "x", "G", "1"))
    dynamodb.put_item(TableName="q", Item=_item("i3", "x", "H", "1"))
    assert _index(dynamodb, "G") == ["i2/x", "i1/x"]
    dynamodb.update_item(  # moves i3 into G, i1 out of it
        TableName="q",
        Key={"pk": {"S": "i3"}, "sk": {"S": "x"}},
        UpdateExpression="SET gpk = :g, gsk = :s",
        ExpressionAttributeValues={":g": {"S": "G"}, ":s": {"S": "3"}},
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "q",
                    "Key": {"pk": {"S": "i1"}, "sk": {"S": "x"}},
                    "UpdateExpression": "REMOVE gpk",
                }
            },
            {"Put": {"TableName": "q", "Item": _item("i4", "x", "G", "0")}},
        ]
    )
    assert _index(dynamodb, "G") == ["i4/x", "i2/x", "i3/x"]
    assert _index(dynamodb, "H") == []
    dynamodb.delete_item(TableName="q", Key={"pk": {"S": "i2"}, "sk": {"S": "x"}})
    dynamodb.batch_write_item(RequestItems={"q": [{"PutRequest": {"Item": _item("i5", "x", "G", "9")}}]})
    assert _index(dynamodb, "G", ScanIndexForward=False) == ["i5/x", "i3/x", "i4/x"]
    page = dynamodb.query(
        TableName="q",
        IndexName="by_g",
        KeyConditionExpression="gpk = :v AND gsk > :s",
        ExpressionAttributeValues={":v": {"S": "G"}, ":s": {"S": "0"}},
        Limit=1,
    )
    assert [i["pk"]["S"] for i in page["Items"]] == ["i3"] and page["LastEvaluatedKey"]["pk"] == {"S": "i3"}


def test_items_written_before_the_first_index_query_are_found(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="q", Item=_item("early", "x", "E", "1"))
    assert _index(dynamodb, "E") == ["early/x"]


def test_a_query_finds_its_items_among_thousands(dynamodb: Any) -> None:
    """The partition lists stay right as the table grows (the speed is `tests/perf/test_i_emulator.py`)."""
    dynamodb.put_item(TableName="q", Item=_item("small", "x", "small", "1"))
    for first in range(0, 3000, 25):
        items = [_item(f"big{n}", "x", f"big{n % 7}", str(n)) for n in range(first, first + 25)]
        batch = [{"PutRequest": {"Item": item}} for item in items]
        dynamodb.batch_write_item(RequestItems={"q": batch})
    assert _table(dynamodb, "small") == ["x"] and _index(dynamodb, "small") == ["small/x"]
    assert len(_table(dynamodb, "big42")) == 1
