"""The local runtime's function pool reuses the warmest idle worker, as Lambda reuses a warm
environment: a function allowed many workers (the webhooks deliverer: one per pump, 15) starts only
as many as ran at once, so the suite and `kontakt dev` pay no cold start that AWS would not."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infra import functions


class FakeWorker:
    def __init__(self, spec: Any, preload: bool = False) -> None:
        self.started = False

    def invoke(self, event: Any, request_id: str) -> tuple[Any, tuple[()], bool]:
        cold = not self.started
        self.started = True
        if isinstance(event, threading.Event):
            event.wait(5)
        return event, (), cold


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> functions.FunctionPool:
    monkeypatch.setattr(functions, "Worker", FakeWorker)
    return functions.FunctionPool(spec=None, concurrency=15)  # type: ignore[arg-type]


def started(pool: functions.FunctionPool) -> int:
    return sum(1 for w in pool._workers if w.started)  # type: ignore[attr-defined]


def test_calls_one_after_another_start_one_worker(pool: functions.FunctionPool) -> None:
    colds = [pool.run(n)[2] for n in range(20)]
    assert colds == [True] + [False] * 19
    assert started(pool) == 1


def test_calls_at_once_start_as_many_workers_as_ran_at_once(pool: functions.FunctionPool) -> None:
    release = threading.Event()
    callers = [threading.Thread(target=pool.run, args=(release,)) for _ in range(3)]
    for caller in callers:
        caller.start()
    release.set()
    for caller in callers:
        caller.join()
    for n in range(10):
        pool.run(n)
    assert started(pool) <= 3
