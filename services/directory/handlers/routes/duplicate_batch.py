"""`POST /contacts/batch` and `/accounts/batch` with the check on create (issue 24): each created
item lists its possible duplicates in its record, as `POST /contacts` does; with
`duplicates=reject` an item that has any is refused alone (409, its problem listing them) and the
others go on, as every refused item of a batch (shared/bulk.py).

One `Checker` serves the whole batch: a key shared by several items is queried once, a candidate
read once, and an item created earlier in the batch is a candidate of the later ones at once (the
key index, eventually consistent, may not list it yet)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from services.directory.duplicate_checks import (
    Checker,
    DuplicateProblem,
    DuplicatesFound,
    DuplicatesMode,
    PossibleDuplicate,
    checked_by,
)
from services.directory.service import Caller
from shared import bulk
from shared.errors import Problem

R = TypeVar("R", bound=BaseModel)


class DuplicatesBatchResult(bulk.BatchResult[R], Generic[R]):
    problem: DuplicateProblem | Problem | None = Field(
        None,
        description="The problem its own request would have got; a 409 of `duplicates=reject` lists "
        "`possible_duplicates`",
    )


class DuplicatesBatchResponse(BaseModel, Generic[R]):
    results: list[DuplicatesBatchResult[R]] = Field(description="One per item, in the request's order")


def run(
    who: Caller,
    kind: str,
    items: list[Any],
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    create: Callable[[Caller, Any], BaseModel],
    update: Callable[[Caller, str, Any], BaseModel],
    created: type[R],
    mode: DuplicatesMode,
) -> DuplicatesBatchResponse[R]:
    checker = Checker(who, kind)
    refused: list[list[PossibleDuplicate]] = []  # the refusals' lists, in the items' order

    def create_checked(caller: Caller, body: Any) -> R:
        try:
            found = checked_by(checker, body, mode)
        except DuplicatesFound as error:
            refused.append(error.found)
            raise
        made = create(caller, body)
        checker.added(made)
        return created(**made.model_dump(), possible_duplicates=found)

    def update_plain(caller: Caller, record_id: str, body: Any) -> R:
        return created(**update(caller, record_id, body).model_dump())

    answer = bulk.run(who, items, create_model, update_model, create_checked, update_plain)
    results = []
    for result in answer.results:
        fields = dict(result)
        if result.problem is not None and result.problem.code == DuplicatesFound.code:
            fields["problem"] = DuplicateProblem(**result.problem.model_dump(), possible_duplicates=refused.pop(0))
        results.append(DuplicatesBatchResult[created](**fields))  # type: ignore[valid-type]
    return DuplicatesBatchResponse[created](results=results)  # type: ignore[valid-type]
