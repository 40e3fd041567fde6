"""A tenant has at most 50 webhook endpoints (issue 20: the fan-out writes one message per endpoint in
one transaction), counted in the create and delete transactions, so racing creates cannot pass it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from infra.runtime import LocalRuntime
from shared.store import tenant_key
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, ok, table_name, walk

URL = "https://hooks.example.com/kontakt"
LIMIT = 50


def _create(admin: Api, n: int) -> requests.Response:
    return admin.post("/webhooks/endpoints", json={"url": f"{URL}/{n}"})


def test_the_fifty_first_endpoint_is_refused_until_one_is_deleted(admin: Api) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: _create(admin, n), range(LIMIT)))
    assert [a.status_code for a in answers] == [201] * LIMIT, [a.text for a in answers if a.status_code != 201]

    refused = assert_problem(_create(admin, LIMIT), 409, "url")
    assert refused["code"] == "endpoint_limit" and "50" in refused["detail"]
    assert len(walk(admin, "/webhooks/endpoints", limit=200)) == LIMIT

    first = answers[0].json()["id"]
    assert admin.delete(f"/webhooks/endpoints/{first}").status_code == 204
    ok(_create(admin, LIMIT + 1), 201)
    assert_problem(_create(admin, LIMIT + 2), 409, "url")


def test_the_count_item_decides_not_a_count_of_records(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    """The cap is the count item's condition in the create's transaction (racing creates are
    tests/integration/test_webhooks_endpoint_limit.py's): a tenant whose count says 50 gets a 409
    with no endpoint stored, and a delete gives the place back."""
    endpoint = ok(_create(admin, 0), 201)
    key = {"pk": {"S": tenant_key(tenant, "WEBHOOK_ENDPOINTS")}, "sk": {"S": "COUNT"}}
    table = table_name(stack, "WebhooksTable")
    dynamodb = stack.client("dynamodb")
    assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["endpoints"] == {"N": "1"}
    dynamodb.update_item(
        TableName=table, Key=key, UpdateExpression="SET endpoints = :n", ExpressionAttributeValues={":n": {"N": "50"}}
    )
    assert assert_problem(_create(admin, 1), 409, "url")["code"] == "endpoint_limit"
    assert [e["id"] for e in walk(admin, "/webhooks/endpoints")] == [endpoint["id"]]
    assert admin.delete(f"/webhooks/endpoints/{endpoint['id']}").status_code == 204
    ok(_create(admin, 2), 201)
    assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["endpoints"] == {"N": "50"}
