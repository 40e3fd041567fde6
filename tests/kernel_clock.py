"""The kernel's clock (shared/clock.py) moved by a test instead of the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import clock


class KernelClock:
    """Stands in for shared.clock: `epoch()` and `now()` read a moment of the test's own, which only
    `sleep()` and `advance()` move; every sleep is recorded. Code that reads and waits through
    shared.clock (the send-rate windows, the sender's deadline) runs on it without waiting."""

    def __init__(self, start: float) -> None:
        self.moment = start
        self.slept: list[float] = []

    def epoch(self) -> float:
        return self.moment

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.moment, UTC)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.moment += max(0.0, seconds)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> KernelClock:
        """Make shared.clock this clock until the test ends."""
        monkeypatch.setattr(clock, "epoch", self.epoch)
        monkeypatch.setattr(clock, "now", self.now)
        monkeypatch.setattr(clock, "sleep", self.sleep)
        return self
