"""What runs after the writes: `UnitOfWork.after_commit` only once its transaction committed, and
`batch_scope.at_end` once a consumer's batch is handled (at once outside a batch)."""

from __future__ import annotations

from typing import Any

import pytest

from shared import batch_scope, store
from shared.store import UnitOfWork


class _Transaction:
    def __init__(self, fails: bool) -> None:
        self.fails = fails

    def __enter__(self) -> _Transaction:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fails:
            raise store.TransactWriteError("refused")


def _unit(monkeypatch: pytest.MonkeyPatch, fails: bool) -> tuple[UnitOfWork, list[str]]:
    monkeypatch.setattr(store, "transaction", lambda: _Transaction(fails))
    uow, done = UnitOfWork(), []
    uow.check(store.CounterItem, "pk", "sk", None, RuntimeError)  # one op, so there is something to commit
    uow.after_commit(lambda: done.append("queued"))
    return uow, done


def test_after_commit_runs_once_the_transaction_committed(monkeypatch: pytest.MonkeyPatch) -> None:
    uow, done = _unit(monkeypatch, fails=False)
    uow.ops[0].apply = lambda tx: None
    uow.commit()
    assert done == ["queued"]
    uow.commit()  # run once, not again
    assert done == ["queued"]


def test_after_commit_never_runs_when_it_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    uow, done = _unit(monkeypatch, fails=True)
    uow.ops[0].apply = lambda tx: None
    with pytest.raises(store.TransactWriteError):
        uow.commit()
    assert done == []


def test_at_end_waits_for_the_batch_and_runs_at_once_outside_one() -> None:
    done: list[str] = []
    with batch_scope.batch():
        batch_scope.at_end(lambda: done.append("flushed"))
        assert done == []
    assert done == ["flushed"]
    batch_scope.at_end(lambda: done.append("alone"))
    assert done == ["flushed", "alone"]
    with pytest.raises(ValueError), batch_scope.batch():
        batch_scope.at_end(lambda: done.append("never"))
        raise ValueError("the batch failed")
    assert done == ["flushed", "alone"]
