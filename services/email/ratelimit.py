"""The account's SES send rate, shared by every sender instance (issue 5 "Sending").

SES limits the whole AWS account to `MaxSendRate` mails per second, however many Lambdas send. The
limit is a fixed one-second window per item in the email table (`RATE#ses#<epoch second>`, no
tenant's data, expiring after a minute): a sender takes its batch's tokens with ONE conditional
UpdateItem (`ADD taken :n` if the window still has room for n), and when the window is full it
sleeps to the next second and tries again. A batch larger than the rate takes its tokens over
several windows. A wait never runs past the caller's deadline (the sender's: its function timeout
less what sending needs): `RateLimitTimeout` tells it to give its messages back to the queue
instead of being killed mid-wait.

The rate comes from SESv2 GetAccount (SendQuota.MaxSendRate), cached for minutes; the env var
MAX_SEND_RATE overrides it (tests, or an account whose quota is shared with other systems).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

import boto3
from pynamodb.attributes import NumberAttribute, TTLAttribute
from pynamodb.exceptions import UpdateError

from shared import clock
from shared.observability import logger
from shared.store import TableItem

KEY_PREFIX = "RATE#ses#"
RATE_CACHE_SECONDS = 300.0
DEFAULT_MAX_SEND_RATE = 14  # SES's production default, when the account cannot be read
WINDOW_RETENTION = timedelta(minutes=1)


class RateLimitTimeout(Exception):
    """The account's rate would keep the batch waiting past its deadline: retry it later."""


def past_deadline(wait: float, deadline: float | None, now: float) -> bool:
    """Whether sleeping `wait` seconds from `now` ends after the deadline (None: no deadline)."""
    return deadline is not None and now + wait > deadline


class RateWindow(TableItem):
    """The tokens taken in one second: `RATE#ses#<epoch second>` / `RATE`."""

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


def rate_limit(max_send_rate: float | int | str | None) -> int:
    """Whole mails per second: SES reports a float (e.g. 14.0); never below one."""
    try:
        value = float(max_send_rate) if max_send_rate is not None else float(DEFAULT_MAX_SEND_RATE)
    except ValueError:
        value = float(DEFAULT_MAX_SEND_RATE)
    return max(1, math.floor(value))


def room_for(taken: int, tokens: int, max_rate: int) -> bool:
    """The condition the UpdateItem checks: the window holds `tokens` more."""
    return taken + tokens <= max_rate


# ----------------------------------------------------------------------------- the account's rate


@cache
def _ses() -> Any:
    return boto3.client("sesv2")


_cached: dict[str, float] = {}


def max_rate(now: Callable[[], float] = time.monotonic) -> int:
    """The account's MaxSendRate (env MAX_SEND_RATE first), read at most every few minutes."""
    override = os.environ.get("MAX_SEND_RATE")
    if override:
        return rate_limit(override)
    if _cached and now() - _cached["at"] < RATE_CACHE_SECONDS:
        return int(_cached["rate"])
    try:
        quota = _ses().get_account().get("SendQuota") or {}
        rate = rate_limit(quota.get("MaxSendRate"))
    except Exception as exc:  # (an emulator without GetAccount, a missing permission)
        logger.warning("SES send quota unreadable, using the default rate", extra={"error": str(exc)})
        rate = DEFAULT_MAX_SEND_RATE
    _cached.update(rate=rate, at=now())
    return rate


# ----------------------------------------------------------------------------- taking tokens


def take_update(window: int, tokens: int, limit: int) -> tuple[RateWindow, list[Any], Any]:
    """The item, actions and condition that add `tokens` to the window if it has room (alone, or
    inside the sender's claim transaction: one call fewer per batch)."""
    item = RateWindow(pk=f"{KEY_PREFIX}{window}", sk="RATE", kind="rate_window")
    expires = clock.now() + WINDOW_RETENTION
    condition = RateWindow.taken.does_not_exist() | (RateWindow.taken <= limit - tokens)
    actions = [RateWindow.taken.add(tokens), RateWindow.kind.set("rate_window"), RateWindow.expires_at.set(expires)]
    return item, actions, condition


def _take(window: int, tokens: int, limit: int) -> bool:
    """One conditional UpdateItem: add `tokens` to the window if it has room."""
    item, actions, condition = take_update(window, tokens, limit)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def acquire(
    tokens: int,
    limit: int | None = None,
    now: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
    deadline: float | None = None,
) -> int:
    """Wait until `tokens` sends fit the account's rate; returns the windows waited for (0 = none).

    Time is the kernel's clock unless `now` and `sleep` are given. Raises RateLimitTimeout rather
    than sleep past `deadline` (epoch seconds, as `now` gives); the tokens already taken stay taken
    (a second of the rate unused, never one exceeded)."""
    now = now or clock.epoch
    sleep = sleep or clock.sleep
    size = limit if limit is not None else max_rate()
    waited = 0
    for take in chunks(tokens, size):
        while not _take(window_of(now()), take, size):
            wait = seconds_to_next_window(now()) + 0.001
            if past_deadline(wait, deadline, now()):
                raise RateLimitTimeout(f"{tokens} sends do not fit the rate ({size}/s) before the deadline")
            waited += 1
            sleep(wait)
    return waited
