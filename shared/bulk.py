"""Batch writes, one shape in every service: `POST /<records>/batch` with up to 100 creates and updates.

`{"items": [...]}`: an item without `id` is a create (the body of `POST /<records>`), one with `id`
an update (`id` and the body of `PATCH /<records>/{id}`). Each item is one command in its own
transaction, the one its own request runs, so an invalid or refused item does not stop the others:
the answer is 200 with one result per item, in the order sent, with its status and the record or
the problem that request alone would have got. Items are validated one by one (not as a whole
body), so that one bad item is its own 422; the document still states each item's schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError, create_model

from shared.errors import DomainError, Problem, ValidationFailed, field_errors_from_pydantic, problem_body
from shared.routes import ID_PATTERN, MAX_ITEMS

R = TypeVar("R", bound=BaseModel)
C = TypeVar("C")


class BatchResult(BaseModel, Generic[R]):
    index: int = Field(description="The item's place in the request, from 0")
    status: int = Field(description="201 created, 200 updated, or the status its own request would have got")
    id: str | None = Field(None, description="The record's id (created or updated)")
    record: R | None = None
    problem: Problem | None = None


class BatchResponse(BaseModel, Generic[R]):
    results: list[BatchResult[R]] = Field(description="One per item, in the request's order")


def request_model(name: str, create: type[BaseModel], update: type[BaseModel]) -> type[BaseModel]:
    """The body of a batch of `create` and `update` (with `id`) items, documented as such; the items
    reach the handler unvalidated and `run` validates each on its own."""
    update_item = create_model(
        f"{name}BatchUpdate",
        __base__=update,
        id=(Annotated[str, Field(pattern=ID_PATTERN, description="The record to change")]),
    )
    item = SkipValidation[create | update_item]  # type: ignore[valid-type]
    return create_model(
        f"{name}Batch",
        __config__=ConfigDict(extra="forbid"),
        items=(
            list[item],  # type: ignore[valid-type]
            Field(
                min_length=1,
                max_length=MAX_ITEMS,
                description="Each item a create (the fields of POST, no `id`) or an update (`id` and the fields "
                "of PATCH); each is validated and written on its own",
            ),
        ),
    )


def run(
    caller: C,
    items: list[Any],
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    create: Callable[[C, Any], R],
    update: Callable[[C, str, Any], R],
) -> BatchResponse[R]:
    return BatchResponse[R](
        results=[_one(caller, i, item, create_model, update_model, create, update) for i, item in enumerate(items)]
    )


def _one(
    caller: C,
    index: int,
    item: Any,
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    create: Callable[[C, Any], R],
    update: Callable[[C, str, Any], R],
) -> BatchResult[R]:
    record_id = item.get("id") if isinstance(item, dict) else None  # not an object: a 422 below
    named = record_id if isinstance(record_id, str) and re.match(ID_PATTERN, record_id) else None
    try:
        if record_id is None:
            record, status = create(caller, create_model.model_validate(item)), 201
        elif named is None:
            raise ValidationFailed.on("id", "The item's id is not an id.")
        else:
            record, status = update(caller, named, update_model.model_validate(_without_id(item))), 200
        return BatchResult[R](index=index, status=status, id=getattr(record, "id", None), record=record)
    except ValidationError as error:
        invalid = ValidationFailed("The item is not valid.", field_errors_from_pydantic(error.errors()))
        return BatchResult[R](index=index, status=422, id=named, problem=_problem(invalid))
    except DomainError as error:
        return BatchResult[R](index=index, status=error.status, id=named, problem=_problem(error))


def _without_id(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "id"}


def _problem(error: DomainError) -> Problem:
    return Problem.model_validate(problem_body(error.status, error.code, error.title, error.detail, error.errors))
