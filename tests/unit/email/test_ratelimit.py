"""The shared send-rate limiter's arithmetic (no network): windows, takes, the account's rate."""

from __future__ import annotations

import pytest

from services.email import ratelimit
from services.email.ratelimit import chunks, rate_limit, room_for, seconds_to_next_window, window_of
from tests.kernel_clock import KernelClock


def test_a_moment_falls_in_its_second() -> None:
    assert window_of(1000.0) == 1000
    assert window_of(1000.999) == 1000
    assert window_of(1001.0) == 1001


def test_the_wait_reaches_the_next_window() -> None:
    assert seconds_to_next_window(1000.25) == pytest.approx(0.75)
    assert seconds_to_next_window(1000.0) == pytest.approx(1.0)


def test_a_batch_larger_than_the_rate_takes_several_windows() -> None:
    assert chunks(10, 14) == [10]
    assert chunks(10, 4) == [4, 4, 2]
    assert chunks(10, 5) == [5, 5]
    assert chunks(0, 5) == []
    assert chunks(3, 0) == [1, 1, 1]  # a rate below one still sends, one a second


def test_the_window_takes_tokens_only_within_the_rate() -> None:
    assert room_for(0, 10, 14)
    assert room_for(4, 10, 14)
    assert not room_for(5, 10, 14)


def test_the_account_rate_is_whole_mails_per_second() -> None:
    assert rate_limit(14.0) == 14
    assert rate_limit("200") == 200
    assert rate_limit(0.5) == 1
    assert rate_limit(None) == ratelimit.DEFAULT_MAX_SEND_RATE
    assert rate_limit("fast") == ratelimit.DEFAULT_MAX_SEND_RATE


def test_the_env_overrides_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_SEND_RATE", "3")
    assert ratelimit.max_rate() == 3


def test_the_account_rate_is_read_once_per_cache_period(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    class Ses:
        def get_account(self) -> dict[str, object]:
            calls.append(1)
            return {"SendQuota": {"MaxSendRate": 40.0}}

    monkeypatch.delenv("MAX_SEND_RATE", raising=False)
    monkeypatch.setattr(ratelimit, "_ses", lambda: Ses())
    monkeypatch.setattr(ratelimit, "_cached", {})
    clock = [0.0]
    assert ratelimit.max_rate(now=lambda: clock[0]) == 40
    clock[0] = ratelimit.RATE_CACHE_SECONDS - 1
    assert ratelimit.max_rate(now=lambda: clock[0]) == 40
    assert len(calls) == 1
    clock[0] = ratelimit.RATE_CACHE_SECONDS + 1
    ratelimit.max_rate(now=lambda: clock[0])
    assert len(calls) == 2


def test_a_full_window_waits_for_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: dict[int, int] = {}

    def take(window: int, tokens: int, limit: int) -> bool:
        if not room_for(taken.get(window, 0), tokens, limit):
            return False
        taken[window] = taken.get(window, 0) + tokens
        return True

    clock = [100.2]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(ratelimit, "_take", take)
    waited = ratelimit.acquire(10, limit=4, now=lambda: clock[0], sleep=sleep)
    assert waited == 2
    assert taken == {100: 4, 101: 4, 102: 2}
    assert ratelimit.acquire(3, limit=4, now=lambda: clock[0], sleep=sleep) == 1  # 102 holds 2 more only
    assert taken[103] == 3


def test_a_wait_past_the_deadline_gives_up_instead_of_sleeping(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.5]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(ratelimit, "_take", lambda window, take, size: False)  # every second is full
    with pytest.raises(ratelimit.RateLimitTimeout):
        ratelimit.acquire(5, limit=5, now=lambda: clock[0], sleep=sleep, deadline=1003.0)
    assert len(slept) == 2 and clock[0] <= 1003.0  # waited for 1001 and 1002, never past the deadline


def test_a_wait_within_the_deadline_takes_its_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.5]
    full = {1000, 1001}
    monkeypatch.setattr(ratelimit, "_take", lambda window, take, size: window not in full)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    assert ratelimit.acquire(5, limit=5, now=lambda: clock[0], sleep=sleep, deadline=1003.0) == 2
    assert not ratelimit.past_deadline(0.5, None, 1e12)  # no deadline: waits as long as it takes


def test_a_wait_runs_on_the_kernels_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that moves shared.clock moves the sender's waits: no wall-clock sleep."""
    kernel = KernelClock(2_000_000_000.5).install(monkeypatch)
    windows: list[int] = []

    def take(window: int, tokens: int, limit: int) -> bool:
        windows.append(window)
        return len(windows) == 3  # two full seconds, then room

    monkeypatch.setattr(ratelimit, "_take", take)
    assert ratelimit.acquire(5, limit=5) == 2
    assert windows == [2_000_000_000, 2_000_000_001, 2_000_000_002]
    assert kernel.slept == [pytest.approx(0.501), pytest.approx(1.0)]
    monkeypatch.setattr(ratelimit, "_take", lambda window, take, size: False)  # every second is full
    with pytest.raises(ratelimit.RateLimitTimeout):  # the deadline is in the clock's seconds too
        ratelimit.acquire(5, limit=5, deadline=kernel.epoch() + 0.5)
    assert len(kernel.slept) == 2


def test_the_senders_deadline_is_on_the_kernels_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.email.handlers import sender

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    KernelClock(2_000_000_000.0).install(monkeypatch)
    assert sender.deadline(Context()) == 2_000_000_000.0 + 60 - sender.SEND_RESERVE_SECONDS
    assert sender.deadline(object()) is None
