from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from shared import errors
from shared.errors import (
    BadRequest,
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
    field_errors_from_pydantic,
    problem_body,
    register_union_tags,
)

pytestmark = pytest.mark.disable_socket


@pytest.fixture
def tags(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    fresh: set[str] = set()
    monkeypatch.setattr(errors, "_union_tags", fresh)
    return fresh


def test_problem_body_has_the_rfc_9457_members() -> None:
    body = problem_body(
        422,
        "validation_failed",
        "Validation failed",
        "The request is not valid.",
        [FieldError(field="name", message="required", code="missing")],
        correlation_id="req-1",
    )
    assert body == {
        "type": "https://kontakt.dev/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "code": "validation_failed",
        "detail": "The request is not valid.",
        "errors": [{"field": "name", "message": "required", "code": "missing"}],
        "correlation_id": "req-1",
    }


def test_problem_body_leaves_out_empty_members() -> None:
    body = problem_body(404, "not_found", "Not found", "No such account.")
    assert set(body) == {"type", "title", "status", "code", "detail"}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BadRequest, 400),
        (Unauthorized, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (PayloadTooLarge, 413),
        (ValidationFailed, 422),
    ],
)
def test_status_of_each_error(error: type[DomainError], status: int) -> None:
    assert error("x").status == status
    assert error("x").errors == []


def test_validation_failed_on_a_field() -> None:
    error = ValidationFailed.on("email", "not an address", "email_invalid")
    assert error.detail == "not an address"
    assert error.errors == [FieldError(field="email", message="not an address", code="email_invalid")]


def test_field_errors_strip_body_and_keep_parameters() -> None:
    raw = [
        {"loc": ("body", "name"), "msg": "Field required", "type": "missing"},
        {"loc": ("query", "limit"), "msg": "too big", "type": "less_than_equal"},
        {"loc": ("body",), "msg": "Field required", "type": "missing"},
        {"loc": (), "msg": "odd"},
    ]
    result = field_errors_from_pydantic(raw)
    assert [(e.field, e.code) for e in result] == [
        ("name", "missing"),
        ("query.limit", "less_than_equal"),
        ("body", "missing"),
        ("body", "invalid"),
    ]


class Equals(BaseModel):
    op: Literal["equals"]
    value: str


class Within(BaseModel):
    op: Literal["within"]
    values: list[str]


class Group(BaseModel):
    conditions: list[Annotated[Equals | Within, Field(discriminator="op")]]
    equals: str = ""


def pydantic_errors(data: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        Group.model_validate(data)
    return [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]


def test_union_tag_after_an_index_is_dropped(tags: set[str]) -> None:
    raw = pydantic_errors({"conditions": [{"op": "within", "values": ["a"]}, {"op": "equals", "value": 3}]})
    assert [e.field for e in field_errors_from_pydantic(raw)] == ["conditions.1.equals.value"]
    register_union_tags(["equals", "within"])
    assert [e.field for e in field_errors_from_pydantic(raw)] == ["conditions.1.value"]


def test_a_field_named_like_a_tag_is_kept(tags: set[str]) -> None:
    register_union_tags(["equals"])
    raw = pydantic_errors({"conditions": [], "equals": 5})
    assert [e.field for e in field_errors_from_pydantic(raw)] == ["equals"]


def test_tag_is_dropped_only_right_after_an_index(tags: set[str]) -> None:
    register_union_tags(["equals"])
    raw = [{"loc": ("body", "a", "equals", 0, "equals", "b"), "msg": "x", "type": "t"}]
    assert field_errors_from_pydantic(raw)[0].field == "a.equals.0.b"


def test_string_index_is_not_an_index(tags: set[str]) -> None:
    register_union_tags(["equals"])
    raw = [{"loc": ("body", "a", "0", "equals"), "msg": "x", "type": "t"}]
    assert field_errors_from_pydantic(raw)[0].field == "a.0.equals"


def test_directory_registers_its_condition_ops() -> None:
    from services.directory.domain.conditions import CONDITION_OPS, Condition

    assert set(CONDITION_OPS) <= errors._union_tags
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(list[Condition]).validate_python([{"field": "name", "op": "equals", "value": {"no": 1}}])
    raw = [{**e, "loc": ("body", "conditions", *e["loc"])} for e in caught.value.errors()]
    paths = [e.field for e in field_errors_from_pydantic(raw)]
    assert paths
    assert {p.split(".")[:3][-1] for p in paths} <= {"field", "value"}
