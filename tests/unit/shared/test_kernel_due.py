"""The kernel's due-time sweep (shared/due.py): every item due by the cutoff is acted on, one that
fails holds back no other, and what fell due is read by the firing's time or now if it runs late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from shared import due

pytestmark = pytest.mark.disable_socket
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class _Index:
    def __init__(self, keys: dict[str, list[str]]) -> None:
        self.keys = keys
        self.asked: list[str] = []

    def query(self, shard: str, range_key_condition: Any) -> list[SimpleNamespace]:
        self.asked.append(shard)
        return [SimpleNamespace(pk=pk, sk="S") for pk in self.keys.get(shard, [])]


class _Sortable:
    def __lt__(self, other: object) -> bool:
        return True


class _Model:
    duesk = _Sortable()  # `duesk < upto`: the condition is the fake index's business

    def __init__(self, keys: dict[str, list[str]]) -> None:
        self.by_due = _Index(keys)


def test_every_shard_is_read_and_a_failing_item_holds_back_no_other() -> None:
    model = _Model({"DUE#0": ["a", "boom"], "DUE#3": ["c"]})
    acted: list[str] = []

    def act(pk: str, sk: str, cutoff: datetime) -> str:
        if pk == "boom":
            raise RuntimeError("a bad item")
        acted.append(pk)
        return "done"

    outcome = due.sweep(model, NOW, act, "test")
    assert acted == ["a", "c"] and outcome == {"done": 2, "failed": 1}
    assert model.by_due.asked == [f"DUE#{n}" for n in range(due.DUE_SHARDS)]


def test_the_cutoff_is_the_firing_time_or_now_when_it_runs_late() -> None:
    assert due.cutoff_of(None, NOW) == NOW
    later = (NOW + timedelta(minutes=5)).isoformat()
    assert due.cutoff_of(later, NOW) == NOW + timedelta(minutes=5)
    assert due.cutoff_of((NOW - timedelta(minutes=5)).isoformat(), NOW) == NOW
