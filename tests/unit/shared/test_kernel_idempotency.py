"""The kernel's Idempotency-Key (shared/idempotency.py) against moto's DynamoDB in-process: what a
client that retries sees (the first answer, replayed; 422 for another request; 409 while running),
which answers keep the key, and the claim that commits with the command's first transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared import idempotency, settings
from shared.idempotency import REPLAYED, Claim, TakenOver
from shared.ids import new_id
from shared.store import MAX_TRANSACTION_ITEMS, DataItem, UnitOfWork, bind_table, joining
from tests import tokens
from tests.kernel_clock import KernelClock

TABLE = "kontakt-unit-idempotency"
CLAIMS = {"sub": "s", "user_id": "user-1", "tenant_id": "tenant-1", "role": "admin", "groups": "[]"}


class Thing(DataItem):
    pass


@pytest.fixture(autouse=True)
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.load.cache_clear()
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        bind_table(TABLE)
        yield
    bind_table(TABLE)  # drop the connections made inside the mock


@pytest.fixture
def kernel_clock(monkeypatch: pytest.MonkeyPatch) -> KernelClock:
    return KernelClock(1_900_000_000.0).install(monkeypatch)


def request(
    body: Any, key: str | None = "key-1", path: str = "/contacts", method: str = "POST", claims: Any = CLAIMS
) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if claims is not None:
        headers["authorization"] = tokens.authorization(claims)
    context: dict[str, Any] = {"http": {"method": method, "path": path}, "requestId": "r"}
    text = body if isinstance(body, str) else json.dumps(body)
    return {"rawPath": path, "rawQueryString": "", "headers": headers, "requestContext": context, "body": text}


class Command:
    """A route: counts its runs, creates a record each time, answers `status`."""

    def __init__(self, status: int = 201) -> None:
        self.runs = 0
        self.status = status

    def __call__(self) -> dict[str, Any]:
        self.runs += 1
        uow = UnitOfWork()
        uow.save(Thing(pk=f"T#tenant-1#THING#{new_id()}", sk="THING", kind="thing"))
        uow.commit()
        headers = {"Content-Type": "application/json", "Location": f"/things/{self.runs}"}
        return {"statusCode": self.status, "headers": headers, "body": json.dumps({"id": self.runs})}


def problem(result: dict[str, Any]) -> tuple[int, str, list[dict[str, Any]]]:
    body = json.loads(result["body"])
    return result["statusCode"], body["code"], body.get("errors", [])


def test_a_repeat_gets_the_first_answer_marked_as_a_replay_and_runs_nothing() -> None:
    command = Command()
    first = idempotency.handle(request({"name": "A", "n": 1}), command)
    again = idempotency.handle(request('{ "n": 1,  "name": "A" }'), command)  # the same JSON, other spelling
    assert command.runs == 1
    assert REPLAYED not in first["headers"]
    assert again["statusCode"] == 201 and json.loads(again["body"]) == {"id": 1}
    assert again["headers"]["Location"] == "/things/1" and again["headers"][REPLAYED] == "true"


def test_the_same_key_on_another_request_is_a_422_naming_the_header() -> None:
    command = Command()
    idempotency.handle(request({"name": "A"}), command)
    for other in (request({"name": "B"}), request({"name": "A"}, path="/accounts")):
        status, code, errors = problem(idempotency.handle(other, command))
        assert (status, code) == (422, "validation_failed")
        assert [(e["field"], e["code"]) for e in errors] == [("header.idempotency-key", "reused")]
    assert command.runs == 1


def test_keys_are_per_tenant_and_user() -> None:
    command = Command()
    idempotency.handle(request({"name": "A"}), command)
    idempotency.handle(request({"name": "A"}, claims={**CLAIMS, "tenant_id": "tenant-2"}), command)
    idempotency.handle(request({"name": "A"}, claims={**CLAIMS, "user_id": "user-2"}), command)
    assert command.runs == 3


def test_an_error_answer_or_a_crash_releases_the_key() -> None:
    refused = Command(status=422)
    idempotency.handle(request({"name": "A"}), refused)
    assert refused.runs == 1

    def fails() -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        idempotency.handle(request({"name": "A"}), fails)
    command = Command()
    assert idempotency.handle(request({"name": "A"}), command)["statusCode"] == 201
    assert command.runs == 1


def test_a_repeat_while_the_first_runs_is_a_409() -> None:
    inner: list[dict[str, Any]] = []

    def slow() -> dict[str, Any]:
        inner.append(idempotency.handle(request({"name": "A"}), Command()))
        return Command()()

    idempotency.handle(request({"name": "A"}), slow)
    assert problem(inner[0])[:2] == (409, "conflict")


def test_requests_it_does_not_touch() -> None:
    command = Command()
    for event in (request({"a": 1}, key=None), request({"a": 1}, method="GET"), request({"a": 1}, claims=None)):
        idempotency.handle(event, command)
        idempotency.handle(event, command)
    assert command.runs == 6
    status, _, errors = problem(idempotency.handle(request({"a": 1}, key="has space"), command))
    assert (status, errors[0]["field"]) == (422, "header.idempotency-key")
    assert problem(idempotency.handle(request({"a": 1}, key="k" * 256), command))[0] == 422


def test_the_claim_commits_with_the_first_transaction(kernel_clock: KernelClock) -> None:
    """A request that dies after its command committed (no answer kept) is never run again; one that
    died before is taken over by a retry once its lease is over."""
    event = request({"name": "A"})
    claim = idempotency._claim(idempotency.Request("tenant-1", "user-1", "key-1", idempotency.fingerprint(event)))
    assert isinstance(claim, Claim)
    with joining(claim):
        Command()()  # commits, then the process dies: nothing finishes the claim
    kernel_clock.advance(idempotency.LEASE_SECONDS + 1)
    command = Command()
    status, code, _ = problem(idempotency.handle(event, command))
    assert (status, code, command.runs) == (409, "conflict", 0)

    dead = request({"name": "B"}, key="key-2")
    idempotency._claim(idempotency.Request("tenant-1", "user-1", "key-2", idempotency.fingerprint(dead)))
    assert problem(idempotency.handle(dead, command))[0] == 409  # still within its lease
    kernel_clock.advance(idempotency.LEASE_SECONDS + 1)
    assert idempotency.handle(dead, command)["statusCode"] == 201
    assert command.runs == 1


def test_a_request_whose_claim_was_taken_over_cannot_commit(kernel_clock: KernelClock) -> None:
    event = request({"name": "A"})
    slow = idempotency._claim(idempotency.Request("tenant-1", "user-1", "key-1", idempotency.fingerprint(event)))
    assert isinstance(slow, Claim)
    kernel_clock.advance(idempotency.LEASE_SECONDS + 1)
    assert idempotency.handle(event, Command())["statusCode"] == 201
    with pytest.raises(TakenOver), joining(slow):
        Command()()


def test_the_document_names_the_header_on_post_operations_with_a_login() -> None:
    ok = {"responses": {"201": {"description": "Created"}}}
    document = {
        "security": [{"bearer": []}],
        "paths": {
            "/contacts": {"post": json.loads(json.dumps(ok)), "get": json.loads(json.dumps(ok))},
            "/u/{token}": {"post": {**json.loads(json.dumps(ok)), "security": [{}]}},
        },
    }
    idempotency.document(document)
    post = document["paths"]["/contacts"]["post"]
    assert [p["name"] for p in post["parameters"]] == ["Idempotency-Key"]
    assert post["parameters"][0]["schema"]["maxLength"] == 255
    assert REPLAYED in post["responses"]["201"]["headers"]
    assert "parameters" not in document["paths"]["/contacts"]["get"]
    assert "parameters" not in document["paths"]["/u/{token}"]["post"]


def test_a_full_transaction_commits_without_the_claim() -> None:
    """A command whose unit of work holds the most items a transaction takes still commits; its
    claim stays `running` (kept as usual when the answer comes)."""
    event = request({"name": "A"})
    claim = idempotency._claim(idempotency.Request("tenant-1", "user-1", "key-1", idempotency.fingerprint(event)))
    assert isinstance(claim, Claim)
    uow = UnitOfWork()
    for _ in range(MAX_TRANSACTION_ITEMS):
        uow.save(Thing(pk=f"T#tenant-1#THING#{new_id()}", sk="THING", kind="thing"))
    with joining(claim):
        uow.commit()
    assert not claim.done
    assert idempotency.IdempotencyItem.get(claim.item.pk, idempotency.SK).state == idempotency.RUNNING
