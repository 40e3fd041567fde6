"""The pure parts of the unit of work: what a cancelled transaction means, keys, limits."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from shared import clock, store
from shared.events import SYSTEM, Envelope
from shared.store import (
    AlreadyApplied,
    ConcurrentUpdate,
    OutboxItem,
    UnitOfWork,
    _cause,
    _Op,
    run_with_retries,
    tenant_key,
)

pytestmark = pytest.mark.disable_socket


class AccountMissing(Exception):
    pass


def op(group: int, on_conflict: Any) -> _Op:
    return _Op(group, lambda tx: None, on_conflict)


def cancelled(*codes: str | None, error_code: str = "TransactionCanceledException") -> TransactWriteError:
    reasons = [CancellationReason(code=c) if c else None for c in codes]
    cause = VerboseClientError(
        {"Error": {"Code": error_code, "Message": "cancelled"}}, "TransactWriteItems", cancellation_reasons=reasons
    )
    return TransactWriteError("transaction failed", cause=cause)


def test_first_failed_condition_decides() -> None:
    ordered = [op(0, AccountMissing), op(2, AlreadyApplied), op(3, ConcurrentUpdate)]
    assert isinstance(_cause(cancelled(None, "ConditionalCheckFailed", None), ordered), AlreadyApplied)
    assert isinstance(_cause(cancelled("ConditionalCheckFailed", None, None), ordered), AccountMissing)
    both = cancelled(None, "ConditionalCheckFailed", "ConditionalCheckFailed")
    assert isinstance(_cause(both, ordered), AlreadyApplied)


def test_transaction_conflict_is_a_concurrent_update() -> None:
    ordered = [op(2, AlreadyApplied), op(3, AccountMissing)]
    assert isinstance(_cause(cancelled(None, "TransactionConflict"), ordered), ConcurrentUpdate)
    assert isinstance(_cause(cancelled(error_code="TransactionConflictException"), ordered), ConcurrentUpdate)


def test_other_failures_stay_as_they_are() -> None:
    error = cancelled(None, "ValidationError")
    assert _cause(error, [op(2, AlreadyApplied), op(3, AccountMissing)]) is error
    throttled = TransactWriteError("throttled")
    assert _cause(throttled, [op(2, AlreadyApplied)]) is throttled


def test_concurrent_update_is_a_409() -> None:
    error = ConcurrentUpdate()
    assert error.status == 409
    assert "retry" in error.detail


def test_tenant_key() -> None:
    assert tenant_key("acme", "CONTACT", "01J") == "T#acme#CONTACT#01J"
    assert tenant_key("acme") == "T#acme"


def test_outbox_item_of_an_envelope(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    event = Envelope(
        id="e1",
        type="account.created",
        tenant_id="t1",
        occurred_at=moment,
        actor=SYSTEM,
        correlation_id="e1",
        data={"id": "a1"},
    )
    item = OutboxItem.of(event)
    assert (item.pk, item.sk, item.kind, item.event_type) == ("OUTBOX#e1", "OUTBOX", "outbox", "account.created")
    assert Envelope.model_validate_json(item.envelope) == event
    assert item.expires_at == moment + timedelta(days=7)


class Transactions:
    """Stands in for pynamodb's TransactWrite: records each transaction a commit opens."""

    def __init__(self) -> None:
        self.opened: list[list[str]] = []

    def __call__(self, connection: Any) -> "Transactions":
        self.opened.append([])
        return self

    def __enter__(self) -> "Transactions":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def save(self, item: Any, condition: Any = None) -> None:
        self.opened[-1].append(f"save {item.pk}")


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> Transactions:
    recorder = Transactions()
    monkeypatch.setattr(store, "TransactWrite", recorder)
    monkeypatch.setattr(store.TableItem, "_get_connection", classmethod(lambda cls: SimpleNamespace(connection=None)))
    return recorder


def test_empty_unit_of_work_commits_nothing(transactions: Transactions) -> None:
    UnitOfWork().commit()
    assert transactions.opened == []  # no transaction, so no call to DynamoDB


def test_unit_of_work_commits_its_writes_in_one_transaction(transactions: Transactions) -> None:
    uow = UnitOfWork()
    uow.mark_applied("consumer", "e1")
    uow.mark_applied("consumer", "e2")
    uow.commit()
    assert transactions.opened == [["save DEDUPE#consumer#e1", "save DEDUPE#consumer#e2"]]


def test_unit_of_work_has_a_size_limit() -> None:
    uow = UnitOfWork()
    for _ in range(store.MAX_TRANSACTION_ITEMS + 1):
        uow.ops.append(op(2, AlreadyApplied))
    assert len(uow) == store.MAX_TRANSACTION_ITEMS + 1
    with pytest.raises(ValueError, match="at most 100"):
        uow.commit()


def test_run_with_retries() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConcurrentUpdate()
        return "done"

    assert run_with_retries(flaky) == "done"
    assert len(attempts) == 3


def test_run_with_retries_gives_up() -> None:
    def always() -> None:
        raise ConcurrentUpdate()

    with pytest.raises(ConcurrentUpdate):
        run_with_retries(always, attempts=2)


def test_a_check_of_an_item_checked_or_written_already_is_dropped() -> None:
    """DynamoDB refuses two operations on one item in a transaction."""
    checks = [
        _Op(0, lambda tx: None, AccountMissing, ("u", "USER")),
        _Op(0, lambda tx: None, AccountMissing, ("u", "USER")),
    ]
    write = _Op(2, lambda tx: None, ConcurrentUpdate, ("a", "ACCOUNT"))
    check_of_written = _Op(0, lambda tx: None, AccountMissing, ("a", "ACCOUNT"))
    kept = store._without_repeated_checks([*checks, write, check_of_written])
    assert [o.key for o in kept] == [("u", "USER"), ("a", "ACCOUNT")]
    assert kept[1] is write


def test_a_model_defined_after_binding_gets_a_connection_with_its_own_indexes() -> None:
    from pynamodb.attributes import UnicodeAttribute
    from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

    from shared.store import TableItem, bind_table

    bind_table("late-table")
    TableItem._get_connection()  # the base caches a connection first

    class LateIndex(GlobalSecondaryIndex):  # type: ignore[type-arg]
        class Meta:
            index_name = "late_index"
            projection = AllProjection()

        late_pk = UnicodeAttribute(hash_key=True)

    class LateItem(TableItem):
        late_pk = UnicodeAttribute(null=True)
        late_index = LateIndex()

    connection = LateItem._get_connection()
    assert connection is not TableItem._get_connection()
    assert connection.get_meta_table().has_index_name("late_index")


def test_every_model_class_reads_botocore_data_through_one_loader() -> None:
    """pynamodb makes a botocore session per model class and thread: they share one data loader, so
    a cold start parses botocore's files once, not once per model class it touches."""
    from shared.store import TableItem, bind_table

    class First(TableItem):
        pass

    class Second(TableItem):
        pass

    before = TableItem.Meta.table_name
    bind_table("loader-test")
    try:
        sessions = [model._get_connection().connection.session for model in (First, Second)]
        assert sessions[0] is not sessions[1]  # pynamodb's own, per connection
        assert sessions[0].get_component("data_loader") is sessions[1].get_component("data_loader")
    finally:
        bind_table(before)  # type: ignore[arg-type]
