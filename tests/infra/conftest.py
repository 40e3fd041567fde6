from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.emulator import Emulator
from infra.runtime import LocalRuntime

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def _bare_emulator() -> Iterator[Emulator]:
    emulator = Emulator()
    emulator.start()
    try:
        emulator.checkpoint()  # nothing in it yet
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def empty_emulator(_bare_emulator: Emulator) -> Emulator:
    """An emulator with nothing in it, for the module: one per test worker, emptied before each
    module (a start cost ~0.5 s of CPU, emptying it ~0.01 s; Emulator.rewind)."""
    _bare_emulator.rewind()
    return _bare_emulator


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(FIXTURES, stage="test", preload=True) as started:
        yield started


def logged(runtime: LocalRuntime, pk: str) -> dict[str, Any]:
    """What the fixture handlers recorded under `pk`, by sort key."""
    assert runtime.stack is not None
    table = runtime.stack.tables["LogTable"].name
    items = runtime.client("dynamodb").query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )["Items"]
    return {i["sk"]["S"]: json.loads(i["payload"]["S"]) if "payload" in i else i for i in items}
