"""Batch writes of accounts and contacts: up to 100 creates and updates, each on its own.

Each item is one command in its own transaction (the same one `POST /contacts` or `PATCH
/contacts/{id}` runs), so an invalid or refused item does not stop the others: the answer holds
one result per item, in the order sent, with its status and the record or the problem. The items
are validated one by one (not as a whole body), so that one bad item is its own 422.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, ValidationError

from services.directory.service import Caller
from shared.errors import DomainError, Problem, ValidationFailed, field_errors_from_pydantic, problem_body
from shared.routes import ID_PATTERN, MAX_ITEMS

R = TypeVar("R", bound=BaseModel)


class BatchRequest(BaseModel):
    model_config = {"extra": "forbid"}

    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Each item a create (the fields of POST, no `id`) or an update (`id` and the fields of "
        "PATCH); each is validated and written on its own",
    )


class BatchResult(BaseModel, Generic[R]):
    index: int = Field(description="The item's place in the request, from 0")
    status: int = Field(description="201 created, 200 updated, or the problem's status")
    id: str | None = Field(None, description="The record's id (created or updated)")
    record: R | None = None
    problem: Problem | None = None


class BatchResponse(BaseModel, Generic[R]):
    results: list[BatchResult[R]]


def _problem(error: DomainError) -> Problem:
    body = problem_body(error.status, error.code, error.title, error.detail, error.errors)
    return Problem.model_validate(body)


def run(
    caller: Caller,
    items: list[dict[str, Any]],
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    create: Callable[[Caller, Any], R],
    update: Callable[[Caller, str, Any], R],
) -> list[BatchResult[R]]:
    results: list[BatchResult[R]] = []
    for index, item in enumerate(items):
        record_id = item.get("id")
        named = record_id if isinstance(record_id, str) and re.match(ID_PATTERN, record_id) else None
        try:
            if record_id is None:
                record, status = create(caller, create_model.model_validate(item)), 201
            elif named is None:
                raise ValidationFailed.on("id", "The item's id is not an id.")
            else:
                body = update_model.model_validate({k: v for k, v in item.items() if k != "id"})
                record, status = update(caller, named, body), 200
            results.append(BatchResult[R](index=index, status=status, id=getattr(record, "id", None), record=record))
        except ValidationError as error:
            invalid = ValidationFailed("The item is not valid.", field_errors_from_pydantic(error.errors()))
            results.append(BatchResult[R](index=index, status=422, id=named, problem=_problem(invalid)))
        except DomainError as error:
            results.append(BatchResult[R](index=index, status=error.status, id=named, problem=_problem(error)))
    return results
