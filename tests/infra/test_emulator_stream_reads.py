"""The emulator answers GetRecords itself (infra/emulator.py, `_stream_reads`): a client reads the
same records from it as from moto's own dispatch.

moto's server runs in this process for the reference (mock_aws does not dispatch DynamoDB Streams):
its GetRecords answer, parsed by botocore, against the emulator's JSON for the same shard records
parsed by the same botocore parser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.parsers import create_parser
from moto.dynamodbstreams.models import dynamodbstreams_backends
from moto.server import ThreadedMotoServer

from infra.emulator import FAKE_CREDENTIALS, free_port, stream_record_json
from infra.template import ACCOUNT_ID, REGION

EVERY_TYPE = {
    "pk": {"S": "tenant#1"},
    "sk": {"S": "contact#1"},
    "name": {"S": 'Äijä "quoted" \\ ünïcode'},
    "count": {"N": "42.50"},
    "active": {"BOOL": True},
    "gone": {"NULL": True},
    "tags": {"SS": ["a", "b"]},
    "scores": {"NS": ["1", "2.5"]},
    "lines": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"L": [{"BOOL": False}]}}}]},
    "address": {"M": {"city": {"S": "Oulu"}, "zip": {"N": "90100"}}},
}


def _parsed(body: bytes) -> dict[str, Any]:
    model = botocore.session.get_session().get_service_model("dynamodbstreams")
    shape = model.operation_model("GetRecords").output_shape
    return create_parser("json").parse({"body": body, "headers": {}, "status_code": 200}, shape)


@pytest.fixture
def moto_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_the_emulators_records_parse_as_moto_answers_them(moto_server: str) -> None:
    clients = {"region_name": REGION, "endpoint_url": moto_server, **FAKE_CREDENTIALS}
    dynamodb = boto3.client("dynamodb", **clients)
    arn = dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    dynamodb.put_item(TableName="t", Item=EVERY_TYPE)
    dynamodb.put_item(TableName="t", Item={**EVERY_TYPE, "count": {"N": "43"}})
    dynamodb.delete_item(TableName="t", Key={"pk": EVERY_TYPE["pk"], "sk": EVERY_TYPE["sk"]})

    streams = boto3.client("dynamodbstreams", **clients)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    from_moto = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]

    backend = dynamodbstreams_backends[ACCOUNT_ID][REGION]
    items = backend.shard_iterators[iterator["ShardIterator"]].stream_shard.items
    records = [stream_record_json(item.to_json()) for item in items]
    from_emulator = _parsed(json.dumps({"Records": records}).encode())["Records"]

    assert [r["eventName"] for r in from_moto] == ["INSERT", "MODIFY", "REMOVE"]
    assert from_emulator == from_moto


def test_a_record_with_a_binary_attribute_is_left_to_moto() -> None:
    record = {"dynamodb": {"Keys": {"pk": {"S": "a"}}, "NewImage": {"blob": {"B": "AAEC"}}}}
    assert stream_record_json(record) is None
    assert stream_record_json({"dynamodb": {"Keys": {"pk": {"S": '"B":'}}}}) is not None
