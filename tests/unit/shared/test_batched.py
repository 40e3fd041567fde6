"""shared/batched.py: a batch's units of work in as few transactions as DynamoDB allows, against a
transaction that records what it was given (and refuses what a test tells it to)."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from shared import batched, store
from shared.store import AlreadyApplied, CounterItem, UnitOfWork

pytestmark = pytest.mark.disable_socket


class Refused(Exception):
    """A unit's own condition failed (as a message settled by someone else)."""


class Transactions:
    """Stands in for `shared.store.transaction`: each transaction's items; `fail` the errors the
    next commits raise, in order."""

    def __init__(self) -> None:
        self.sent: list[list[tuple[str, str]]] = []
        self.fail: list[TransactWriteError] = []

    def __call__(self) -> Transactions:
        self.sent.append([])
        return self

    def __enter__(self) -> Transactions:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fail:
            raise self.fail.pop(0)

    def save(self, item: Any, condition: Any = None) -> None:
        self.sent[-1].append(("put", item.pk))

    def update(self, item: Any, actions: list[Any], condition: Any = None, add_version_condition: bool = True) -> None:
        self.sent[-1].append(("update", item.pk))


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Transactions:
    fake = Transactions()
    monkeypatch.setattr(store, "transaction", fake)
    monkeypatch.setattr(batched.clock, "sleep", lambda seconds: None)
    return fake


def refusal(*codes: str | None) -> TransactWriteError:
    """A cancelled transaction whose n-th item has the n-th reason."""
    reasons = [None if code is None else CancellationReason(code=code) for code in codes]
    error = {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}
    return TransactWriteError(
        "cancelled", cause=VerboseClientError(error, "TransactWriteItems", cancellation_reasons=reasons)
    )


def unit(name: str, items: int = 1, charged: int = 0) -> UnitOfWork:
    """`items` puts (each refused as Refused), and `charged` added to one shared balance."""
    uow = UnitOfWork()
    for n in range(items):
        uow.save(CounterItem(pk=f"{name}#{n}", sk="X", kind="x"), on_conflict=Refused)
    if charged:
        uow.add_to(CounterItem(pk="BALANCE", sk="X", kind="balance"), value=charged)
    return uow


def test_units_are_packed_into_transactions_of_at_most_100_items(transactions: Transactions) -> None:
    units = [unit(f"m{n}", items=4) for n in range(30)]
    assert batched.commit_together(units) == [None] * 30
    assert [len(sent) for sent in transactions.sent] == [100, 20]  # 25 units, then 5: no unit split


def test_additions_to_one_item_are_one_update(transactions: Transactions) -> None:
    """Ten messages charged on one balance: ten puts and one update of the balance."""
    assert batched.commit_together([unit(f"m{n}", charged=2) for n in range(10)]) == [None] * 10
    [sent] = transactions.sent
    assert sent.count(("update", "BALANCE")) == 1 and len(sent) == 11


def test_a_unit_whose_condition_failed_is_left_out_and_the_others_commit_together(
    transactions: Transactions,
) -> None:
    transactions.fail = [refusal(None, None, None, "ConditionalCheckFailed", *[None] * 7)]
    errors = batched.commit_together([unit(f"m{n}", charged=1) for n in range(10)])
    assert [type(e) if e else None for e in errors] == [None, None, None, Refused, *[None] * 6]
    first, second = transactions.sent
    assert len(first) == 11 and len(second) == 10 and ("put", "m3#0") not in second


def test_a_conflict_with_another_transaction_is_tried_again_then_one_by_one(transactions: Transactions) -> None:
    transactions.fail = [refusal(None, "TransactionConflict", None)]
    assert batched.commit_together([unit(f"m{n}") for n in range(3)]) == [None] * 3
    assert [len(sent) for sent in transactions.sent] == [3, 3]
    transactions.sent.clear()
    transactions.fail = [refusal("TransactionConflict")] * batched.ATTEMPTS + [refusal("ConditionalCheckFailed")]
    errors = batched.commit_together([unit("a"), unit("b")])
    assert [type(e) if e else None for e in errors] == [Refused, None]  # each alone answers for itself
    assert [len(sent) for sent in transactions.sent] == [2] * batched.ATTEMPTS + [1, 1]


def test_an_event_published_already_is_the_units_own_error(transactions: Transactions) -> None:
    published = UnitOfWork()
    published.save(CounterItem(pk="OUTBOX#e1", sk="X", kind="x"), on_conflict=AlreadyApplied)
    transactions.fail = [refusal("ConditionalCheckFailed", None)]
    errors = batched.commit_together([published, unit("other")])
    assert isinstance(errors[0], AlreadyApplied) and errors[1] is None
