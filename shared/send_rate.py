"""An account-wide send rate shared by every sender instance of a provider (email's SES, SMS's End
User Messaging SMS): one limiter, each service giving it its provider's name and rate.

A provider limits the whole AWS account to so many sends a second, however many Lambdas send.
The limit is a fixed one-second window per item in the calling function's table (every model is
bound to it, shared/store.bind_table): `RATE#<provider>#<epoch second>` / `RATE`, no tenant's
data, expiring after a minute. A sender takes its batch's tokens with ONE conditional UpdateItem
(`ADD taken :n` if the window still has room for n), and when the window is full it sleeps to the
next second and tries again. A batch larger than the rate takes its tokens over several windows.
A wait never runs past the caller's deadline (a sender's: its function timeout less what sending
needs): `RateLimitTimeout` tells it to give its messages back to the queue instead of being
killed mid-wait.

The rate is the service's (`SendRate(provider, rate)`): a callable read on each acquire, usually
a `CachedRate` (an env var first, else the provider's API read at most every few minutes).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute
from pynamodb.exceptions import UpdateError

from shared import clock
from shared.observability import logger
from shared.store import TableItem

RATE_CACHE_SECONDS = 300.0
WINDOW_RETENTION = timedelta(minutes=1)


class RateLimitTimeout(Exception):
    """The account's rate would keep the batch waiting past its deadline: retry it later."""


def past_deadline(wait: float, deadline: float | None, now: float) -> bool:
    """Whether sleeping `wait` seconds from `now` ends after the deadline (None: no deadline)."""
    return deadline is not None and now + wait > deadline


class RateWindow(TableItem):
    """The tokens taken in one second: `RATE#<provider>#<epoch second>` / `RATE`."""

    taken = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


# ----------------------------------------------------------------------------- arithmetic (pure)


def window_of(now: float) -> int:
    """The one-second window a moment falls in."""
    return math.floor(now)


def seconds_to_next_window(now: float) -> float:
    return max(0.0, window_of(now) + 1 - now)


def chunks(tokens: int, max_rate: int) -> list[int]:
    """The takes that acquire `tokens` when one window holds at most `max_rate`."""
    if tokens <= 0:
        return []
    size = max(1, max_rate)
    full, rest = divmod(tokens, size)
    return [size] * full + ([rest] if rest else [])


def rate_limit(value: float | int | str | None, default: int) -> int:
    """Whole sends per second (a provider may report a float, e.g. 14.0); never below one;
    `default` when the value is missing or not a number."""
    try:
        rate = float(value) if value is not None else float(default)
    except ValueError:
        rate = float(default)
    return max(1, math.floor(rate))


def room_for(taken: int, tokens: int, max_rate: int) -> bool:
    """The condition the UpdateItem checks: the window holds `tokens` more."""
    return taken + tokens <= max_rate


# ----------------------------------------------------------------------------- the account's rate


@dataclass
class CachedRate:
    """A provider's rate: the env var `env` when set, else `read()` (the provider's API) at most
    every RATE_CACHE_SECONDS, else `default` when it cannot be read (an emulator without the call,
    a missing permission); `read=None`: the provider exposes no rate, the env var or the default."""

    env: str
    default: int
    read: Callable[[], float | int | str | None] | None = None
    cached: dict[str, float] = field(default_factory=dict)

    def __call__(self, now: Callable[[], float] = time.monotonic) -> int:
        override = os.environ.get(self.env)
        if override:
            return rate_limit(override, self.default)
        if self.read is None:
            return self.default
        if self.cached and now() - self.cached["at"] < RATE_CACHE_SECONDS:
            return int(self.cached["rate"])
        try:
            rate = rate_limit(self.read(), self.default)
        except Exception as exc:
            logger.warning("send quota unreadable, using the default rate", extra={"env": self.env, "error": str(exc)})
            rate = self.default
        self.cached.update(rate=rate, at=now())
        return rate


# ----------------------------------------------------------------------------- taking tokens


@dataclass
class SendRate:
    """The account-wide limiter of one provider (`provider` names its windows, `rate` gives its
    sends a second)."""

    provider: str
    rate: Callable[[], int]

    @property
    def key_prefix(self) -> str:
        return f"RATE#{self.provider}#"

    def max_rate(self) -> int:
        return self.rate()

    def take_update(self, window: int, tokens: int, limit: int) -> tuple[RateWindow, list[Any], Any]:
        """The item, actions and condition that add `tokens` to the window if it has room (alone,
        or inside a sender's claim transaction: one call fewer per batch)."""
        item = RateWindow(pk=f"{self.key_prefix}{window}", sk="RATE", kind="rate_window")
        expires = clock.now() + WINDOW_RETENTION
        condition = RateWindow.taken.does_not_exist() | (RateWindow.taken <= limit - tokens)
        actions = [RateWindow.taken.add(tokens), RateWindow.kind.set("rate_window"), RateWindow.expires_at.set(expires)]
        return item, actions, condition

    def take(self, window: int, tokens: int, limit: int) -> bool:
        """One conditional UpdateItem: add `tokens` to the window if it has room."""
        item, actions, condition = self.take_update(window, tokens, limit)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def taken(self, window: int) -> int:
        """The tokens taken in a window so far (operators' and tests' view)."""
        try:
            return int(RateWindow.get(f"{self.key_prefix}{window}", "RATE").taken or 0)
        except RateWindow.DoesNotExist:
            return 0

    def acquire(
        self,
        tokens: int,
        limit: int | None = None,
        now: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        deadline: float | None = None,
        take: Callable[[int, int, int], bool] | None = None,
    ) -> int:
        """Wait until `tokens` sends fit the account's rate; returns the windows waited for (0 = none).

        Time is the kernel's clock unless `now` and `sleep` are given. Raises RateLimitTimeout
        rather than sleep past `deadline` (epoch seconds, as `now` gives); the tokens already taken
        stay taken (a second of the rate unused, never one exceeded)."""
        now = now or clock.epoch
        sleep = sleep or clock.sleep
        take = take or self.take
        size = limit if limit is not None else self.max_rate()
        waited = 0
        for chunk in chunks(tokens, size):
            while not take(window_of(now()), chunk, size):
                wait = seconds_to_next_window(now()) + 0.001
                if past_deadline(wait, deadline, now()):
                    raise RateLimitTimeout(f"{tokens} sends do not fit the rate ({size}/s) before the deadline")
                waited += 1
                sleep(wait)
        return waited
