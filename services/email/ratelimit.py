"""The account's SES send rate, shared by every email sender instance (issue 5 "Sending").

SES limits the whole AWS account to `MaxSendRate` mails per second, however many Lambdas send.
The limiter is the kernel's (shared/send_rate.py: one-second windows `RATE#ses#<epoch second>`
in the email table, one conditional UpdateItem per take, deadline-aware); this module gives it
SES's rate and keeps the names the email sender uses.

The rate comes from SESv2 GetAccount (SendQuota.MaxSendRate), cached for minutes; the env var
MAX_SEND_RATE overrides it (tests, or an account whose quota is shared with other systems).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from shared.send_rate import (
    RATE_CACHE_SECONDS,
    CachedRate,
    RateLimitTimeout,
    RateWindow,
    SendRate,
    chunks,
    past_deadline,
    room_for,
    seconds_to_next_window,
    window_of,
)
from shared.send_rate import rate_limit as _whole_rate

__all__ = [
    "RATE_CACHE_SECONDS",
    "RateLimitTimeout",
    "RateWindow",
    "acquire",
    "chunks",
    "max_rate",
    "past_deadline",
    "room_for",
    "seconds_to_next_window",
    "take_update",
    "window_of",
]

PROVIDER = "ses"
DEFAULT_MAX_SEND_RATE = 14  # SES's production default, when the account cannot be read


def rate_limit(max_send_rate: float | int | str | None) -> int:
    """Whole mails per second: SES reports a float (e.g. 14.0); never below one."""
    return _whole_rate(max_send_rate, DEFAULT_MAX_SEND_RATE)


@cache
def _ses() -> Any:
    import boto3  # here: a function that sends no mail (feedback) does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("sesv2")


def _send_quota() -> float | None:
    quota = _ses().get_account().get("SendQuota") or {}
    rate = quota.get("MaxSendRate")
    return float(rate) if rate is not None else None


_cached: dict[str, float] = {}


def max_rate(now: Callable[[], float] = time.monotonic) -> int:
    """The account's MaxSendRate (env MAX_SEND_RATE first), read at most every few minutes."""
    return CachedRate("MAX_SEND_RATE", DEFAULT_MAX_SEND_RATE, _send_quota, _cached)(now)


LIMITER = SendRate(PROVIDER, max_rate)
KEY_PREFIX = LIMITER.key_prefix
take_update = LIMITER.take_update


def _take(window: int, tokens: int, limit: int) -> bool:
    """One conditional UpdateItem: add `tokens` to the window if it has room."""
    return LIMITER.take(window, tokens, limit)


def acquire(
    tokens: int,
    limit: int | None = None,
    now: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    deadline: float | None = None,
) -> int:
    """Wait until `tokens` mails fit the account's rate (shared.send_rate.SendRate.acquire)."""
    return LIMITER.acquire(tokens, limit, now, sleep, deadline, take=_take)
