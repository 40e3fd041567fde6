"""shared.preconditions (If-Match, ETag) and shared.service.patch_changes (what a PATCH changes)."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from shared import api as http
from shared import preconditions
from shared.errors import PreconditionFailed
from shared.service import patch_changes

pytestmark = pytest.mark.disable_socket


@dataclass
class Item:
    """What the kernel reads of a record: its id and version."""

    record_id: str
    version: int | None


# ----------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize(
    ("header", "version", "holds"),
    [
        ('"3"', 3, True),
        ('"3"', 4, False),
        ('"1", "3"', 3, True),
        ('"1" , "3"', 1, True),
        ('"1", "2"', 3, False),
        ("*", 7, True),
        ("*", None, False),  # `*` holds only for a record that exists
        ('"3"', None, False),
        ('W/"3"', 3, False),  # If-Match compares strongly: a weak tag never matches
        ('W/"3", "3"', 3, True),
        ("3", 3, False),  # not an entity tag: a malformed condition holds for nothing
        ('"3', 3, False),
        ('"a,b", "3"', 3, True),  # a comma inside a tag does not split the list
        ("", 3, False),
    ],
)
def test_if_match_holds_as_rfc_9110_says(header: str, version: int | None, holds: bool) -> None:
    assert preconditions.parse_if_match(header).matches(version) is holds


def test_the_etag_is_the_version_as_a_strong_tag() -> None:
    assert preconditions.etag(3) == '"3"'
    assert preconditions.parse_if_match(preconditions.etag(12)).matches(12)


def test_a_record_read_by_the_paths_id_is_the_target_and_a_false_condition_fails_before_writing() -> None:
    with preconditions.request("PATCH", '"2"', "A1") as state:
        preconditions.loaded(Item("OTHER", 2))  # another record the command reads: not the target
        assert state.target is None
        record = Item("A1", 3)
        preconditions.loaded(record)
        assert preconditions.target() is record
        with pytest.raises(PreconditionFailed) as failed:
            preconditions.before_commit([(record, True)])
        assert (failed.value.status, failed.value.code) == (412, "precondition_failed")


def test_the_written_record_with_the_paths_id_is_checked_at_commit() -> None:
    with preconditions.request("PATCH", '"3"', "B1") as state:
        booking = Item("B1", 3)
        preconditions.before_commit([(Item("ORDER", 9), True), (booking, True)])  # the order is touched too
        assert state.target is booking and state.evaluated
    with preconditions.request("PATCH", '"9"', "B1"), pytest.raises(PreconditionFailed):
        preconditions.before_commit([(Item("ORDER", 9), True), (Item("B1", 3), True)])


def test_a_named_target_is_evaluated_at_once() -> None:
    with preconditions.request("PUT", '"1"', None) as state:
        setting = Item("tenant", 1)
        preconditions.address(setting)
        assert state.target is setting
        preconditions.loaded(Item("tenant", 5))  # a later read does not replace a named target
        assert state.target is setting
    with preconditions.request("PUT", '"1"', None), pytest.raises(PreconditionFailed):
        preconditions.address(Item("tenant", 2))


def test_a_write_without_a_target_is_checked_on_the_first_stored_record_or_fails() -> None:
    with preconditions.request("DELETE", '"4"', "file-1"):
        preconditions.before_commit([(Item("new", None), False), (Item("activity", 4), True)])
    with preconditions.request("DELETE", '"5"', "file-1"), pytest.raises(PreconditionFailed):
        preconditions.before_commit([(Item("activity", 4), True)])
    with preconditions.request("PUT", "*", "2026"), pytest.raises(PreconditionFailed):
        preconditions.before_commit([(Item("new", None), False)])  # creates only: no current record


def test_without_if_match_or_outside_a_request_nothing_is_refused() -> None:
    preconditions.before_commit([(Item("x", 1), True)])
    preconditions.address(Item("x", 1))
    with preconditions.request("PATCH", None, "x") as state:
        preconditions.loaded(Item("x", 1))
        preconditions.before_commit([(Item("x", 1), True)])
        preconditions.after_handler()
        assert state.target is not None


def test_writes_that_are_not_the_requests_own_are_left_alone() -> None:
    with preconditions.request("PATCH", '"1"', "A1"), preconditions.unconditional():
        preconditions.before_commit([(Item("installed", 7), True)])


def test_a_request_that_wrote_nothing_is_evaluated_when_it_ends() -> None:
    with preconditions.request("PATCH", '"1"', "A1"):
        preconditions.loaded(Item("A1", 2))
        with pytest.raises(PreconditionFailed):
            preconditions.after_handler()


# ----------------------------------------------------------------------------- through an app


app = http.create_app("Preconditions test", "preconditions")
STORED = {"T1": Item("T1", 4)}


class Change(BaseModel):
    name: str | None = None


@app.get("/things/<thing_id>")
def get_thing(thing_id: str) -> dict[str, Any]:
    preconditions.loaded(STORED[thing_id])
    return {"id": thing_id}


@app.patch("/things/<thing_id>")
def patch_thing(thing_id: str, body: Annotated[Change, Body()]) -> dict[str, Any]:
    record = STORED[thing_id]
    preconditions.loaded(record)
    preconditions.before_commit([(record, True)])
    return {"id": thing_id}


@app.get("/things")
def list_things() -> dict[str, Any]:
    preconditions.loaded(STORED["T1"])
    return {"items": []}


def _call(event: dict[str, Any], if_match: str | None = None) -> dict[str, Any]:
    if if_match is not None:
        event["headers"]["If-Match"] = if_match
    return app.resolve(event, None)


def test_an_answer_carries_the_targets_etag_and_a_false_condition_is_a_412_problem(make_http_event: Any) -> None:
    read = _call(make_http_event("GET", "/things/T1"))
    assert read["statusCode"] == 200 and read["headers"]["ETag"] == '"4"'
    written = _call(make_http_event("PATCH", "/things/T1", {"name": "x"}), '"4"')
    assert written["statusCode"] == 200 and written["headers"]["ETag"] == '"4"'
    refused = _call(make_http_event("PATCH", "/things/T1", {"name": "x"}), '"3"')
    assert refused["statusCode"] == 412 and "ETag" not in refused["headers"]
    assert refused["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(refused["body"])["code"] == "precondition_failed"
    assert _call(make_http_event("GET", "/things/T1"), '"3"')["statusCode"] == 412
    assert "ETag" not in _call(make_http_event("GET", "/things"))["headers"]  # a list is no record


def test_the_document_states_if_match_the_etag_and_412() -> None:
    document = json.loads(app.get_openapi_json_schema())
    patch = document["paths"]["/things/{thing_id}"]["patch"]
    header = next(p for p in patch["parameters"] if p["in"] == "header")
    assert (header["name"], header["required"]) == ("If-Match", False)
    assert "412" in patch["responses"] and patch["responses"]["200"]["headers"]["ETag"]
    get = document["paths"]["/things/{thing_id}"]["get"]
    assert "ETag" in get["responses"]["200"]["headers"] and "412" not in get["responses"]
    assert "ETag" not in document["paths"]["/things"]["get"]["responses"]["200"].get("headers", {})


@pytest.mark.parametrize(("method", "conditional"), [("put", True), ("patch", True), ("delete", True), ("post", False)])
def test_412_is_an_answer_of_every_conditional_write(method: str, conditional: bool) -> None:
    assert (412 in http.operation_answers({"security": []}, method)) is conditional


# ----------------------------------------------------------------------------- patch_changes


class Record(BaseModel):
    name: str
    email: str | None = None
    starts: datetime | None = None
    tags: list[str] = []


def test_a_patch_of_nothing_or_of_the_values_held_changes_nothing() -> None:
    when = datetime(2026, 5, 1, 10, tzinfo=UTC)
    record = Record(name="Acme", starts=when, tags=["a"])
    assert patch_changes(record, {}) == {}
    assert patch_changes(record, {"name": "Acme", "tags": ["a"]}) == {}
    assert patch_changes(record, {"email": None}) == {}  # clearing what is not there
    assert patch_changes(record, {"starts": when.astimezone(timezone(timedelta(hours=3)))}) == {}  # same instant
    assert patch_changes(record, {"starts": when.isoformat()}) == {}  # as JSON
    assert patch_changes(record.model_dump(mode="json", exclude_none=True), {"email": None}) == {}


def test_a_patch_changes_the_fields_it_sends_with_other_values() -> None:
    record = Record(name="Acme", email="a@example.fi")
    assert patch_changes(record, {"name": "Acme", "email": None}) == {"email": None}
    assert patch_changes(record, {"tags": ["b"]}) == {"tags": ["b"]}

    class Update(BaseModel):
        name: str | None = None
        email: str | None = None

    assert patch_changes(record, Update(name="Other")) == {"name": "Other"}  # only the fields sent
