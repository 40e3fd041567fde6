from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.runtime import LocalRuntime

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(FIXTURES, stage="test") as started:
        yield started


def logged(runtime: LocalRuntime, pk: str) -> dict[str, Any]:
    """What the fixture handlers recorded under `pk`, by sort key."""
    assert runtime.stack is not None
    table = runtime.stack.tables["LogTable"].name
    items = runtime.client("dynamodb").query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]
    return {i["sk"]["S"]: json.loads(i["payload"]["S"]) if "payload" in i else i for i in items}
