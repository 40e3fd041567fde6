"""The kernel's batch writes (`shared/bulk.py`): each item on its own, one result per item."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from shared import bulk
from shared.errors import Forbidden


class Thing(BaseModel):
    id: str
    name: str


class ThingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class ThingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None


def _create(caller: Any, body: ThingCreate) -> Thing:
    return Thing(id="new-1", name=body.name)


def _update(caller: Any, thing_id: str, body: ThingUpdate) -> Thing:
    if thing_id == "theirs":
        raise Forbidden("Not yours.")
    return Thing(id=thing_id, name=body.name or "")


def test_each_item_is_created_updated_or_refused_on_its_own() -> None:
    items = [{"name": "a"}, {"id": "t1", "name": "b"}, {"id": "theirs"}, {"id": 7}, {"nam": "x"}, 5, {"id": "t2"}]
    answer = bulk.run(None, items, ThingCreate, ThingUpdate, _create, _update)
    assert [(r.index, r.status, r.id) for r in answer.results] == [
        (0, 201, "new-1"), (1, 200, "t1"), (2, 403, "theirs"), (3, 422, None), (4, 422, None), (5, 422, None),
        (6, 200, "t2"),
    ]  # fmt: skip
    assert answer.results[1].record == Thing(id="t1", name="b") and answer.results[1].problem is None
    assert [e.field for e in answer.results[3].problem.errors] == ["id"]  # type: ignore[union-attr]
    assert {e.field for e in answer.results[4].problem.errors} == {"name", "nam"}  # type: ignore[union-attr]


def test_the_request_documents_both_kinds_of_item_and_leaves_their_checks_to_run() -> None:
    model = bulk.request_model("Thing", ThingCreate, ThingUpdate)
    schema = model.model_json_schema()
    items = schema["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 100)
    assert {ref["$ref"].rsplit("/", 1)[-1] for ref in items["items"]["anyOf"]} == {"ThingCreate", "ThingBatchUpdate"}
    assert "id" in schema["$defs"]["ThingBatchUpdate"]["required"]
    # one bad item does not refuse the body: `run` answers it on its own
    assert model.model_validate({"items": [{"nam": 1}, 5]}).items == [{"nam": 1}, 5]  # type: ignore[attr-defined]
