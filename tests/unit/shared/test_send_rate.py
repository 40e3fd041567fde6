"""The kernel's account-wide send rate (shared/send_rate.py): each provider's rate source and windows."""

from __future__ import annotations

import pytest

from shared.send_rate import CachedRate, SendRate


def test_a_rate_without_an_api_is_its_env_var_or_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    rate = CachedRate("MAX_TEST_RATE", 10)
    monkeypatch.delenv("MAX_TEST_RATE", raising=False)
    assert rate() == 10
    monkeypatch.setenv("MAX_TEST_RATE", "25")
    assert rate() == 25
    monkeypatch.setenv("MAX_TEST_RATE", "0.2")
    assert rate() == 1  # never below one a second


def test_an_unreadable_rate_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> float:
        raise RuntimeError("no such call")

    monkeypatch.delenv("MAX_TEST_RATE", raising=False)
    assert CachedRate("MAX_TEST_RATE", 7, broken)() == 7


def test_each_provider_counts_its_own_windows() -> None:
    ses, sms = SendRate("ses", lambda: 14), SendRate("sms-voice", lambda: 10)
    assert ses.take_update(100, 1, 14)[0].pk == "RATE#ses#100"
    assert sms.take_update(100, 1, 10)[0].pk == "RATE#sms-voice#100"
    assert (ses.max_rate(), sms.max_rate()) == (14, 10)


def test_acquire_takes_a_batch_larger_than_the_rate_over_several_windows() -> None:
    taken: dict[int, int] = {}
    clock = [1000.5]

    def take(window: int, tokens: int, limit: int) -> bool:
        if taken.get(window, 0) + tokens > limit:
            return False
        taken[window] = taken.get(window, 0) + tokens
        return True

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    waited = SendRate("sms-voice", lambda: 3).acquire(7, now=lambda: clock[0], sleep=sleep, take=take)
    assert waited == 2
    assert taken == {1000: 3, 1001: 3, 1002: 1}
