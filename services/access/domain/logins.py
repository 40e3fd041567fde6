"""Sign-ins: the lock-out arithmetic (pure) and what the API shows of attempts and locks.

A counter is kept per user and per IP address (in the tenant the login belongs to). A failed
sign-in counts in a window that starts at the first failure; the `limit`-th failure within it
locks the user (or IP) for `lock_time(locks)`: 1 minute the first time, doubling with each lock
after, at most a day. An attempt while locked is refused before any password is checked and does
not count. A success clears the user's failures (not its past locks); an admin's lift deletes the
counter (failures and past locks alike).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.types import OUTPUT, Utc

USER_LIMIT = 5  # failures of one user within the window
IP_LIMIT = 20  # failures from one address (many users may sign in from one office's address)
WINDOW = timedelta(minutes=15)
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(days=1)


@dataclass(frozen=True)
class Counter:
    failures: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None
    locks: int = 0  # locks so far: the next one lasts twice as long


def lock_time(locks: int) -> timedelta:
    """How long the `locks`-th lock lasts (1, 2, 4 ... minutes, at most a day)."""
    return min(FIRST_LOCK * 2 ** max(locks - 1, 0), LONGEST_LOCK)


def is_locked(counter: Counter, now: datetime) -> bool:
    return counter.locked_until is not None and now < counter.locked_until


def after_failure(counter: Counter, now: datetime, limit: int) -> Counter:
    """The counter after a failed sign-in at `now` (one not refused by a lock)."""
    if is_locked(counter, now):
        return counter
    if counter.window_start is None or now - counter.window_start >= WINDOW:
        counter = replace(counter, failures=0, window_start=now)
    failures = counter.failures + 1
    if failures < limit:
        return replace(counter, failures=failures)
    locks = counter.locks + 1
    return Counter(failures=0, window_start=None, locked_until=now + lock_time(locks), locks=locks)


def after_success(counter: Counter) -> Counter:
    return replace(counter, failures=0, window_start=None)


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a wrong password
    REFUSED = "refused"  # refused before the password was checked: the user or the address is locked


class SignIn(BaseModel):
    """One sign-in attempt of a user, as an admin (or the user) reads it."""

    model_config = OUTPUT

    id: str
    user_id: str
    at: Utc
    outcome: Outcome
    ip: str = Field(description="The address the sign-in came from")
    user_agent: str = Field(description="The client's User-Agent, as sent (at most 500 characters)")


class LockSubject(StrEnum):
    USER = "user"
    IP = "ip"


class LoginLock(BaseModel):
    """A user's or an address's failure counter: locked while `locked_until` is in the future."""

    model_config = OUTPUT

    id: str = Field(description="`user-<user id>` or `ip-<address, its dots and colons as dashes>`")
    subject: LockSubject
    user_id: str | None = None
    ip: str | None = None
    failures: int = Field(description="Failures in the current window")
    locked_until: Utc | None = None
    locks: int = Field(description="Locks so far: the next lasts twice as long as the last")
    locked: bool = Field(default=False, description="Whether sign-ins are refused now")


def lock_id(subject: LockSubject, value: str) -> str:
    """The id of a counter: ids are `[0-9A-Za-z_-]`, so an address's dots and colons become dashes."""
    if subject == LockSubject.USER:
        return f"user-{value}"
    return "ip-" + value.replace(".", "-").replace(":", "-")
