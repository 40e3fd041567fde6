"""Sign-ins: the lock-out arithmetic (pure) and what the API shows of attempts and locks.

A counter is kept per user and per IP address (in the tenant the login belongs to). A sign-in
counts as a failure from the moment it begins until a success refunds it: Cognito runs a trigger
when any sign-in begins (PreAuthentication) and when one passes (PostAuthentication), in every auth
flow, but shows a wrong password to a trigger only in the custom flow; so a wrong password counts
in every flow. Failures count in a window that starts at the first; a sign-in that begins with
`limit` failures in the window is refused and locks the user (or IP) for `lock_time(locks)`: 1
minute the first time, doubling with each lock after, at most a day. An attempt while locked is
refused before any password is checked and does not count. A success clears the user's failures
(not its past locks) and takes its own back from the address's; an admin's lift deletes the counter
(failures and past locks alike).
"""

from __future__ import annotations

import hashlib
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


def lock_due(counter: Counter, now: datetime, limit: int) -> bool:
    """Whether a sign-in beginning at `now` finds `limit` failures in the window: it locks."""
    in_window = counter.window_start is not None and now - counter.window_start < WINDOW
    return not is_locked(counter, now) and in_window and counter.failures >= limit


def locked_now(counter: Counter, now: datetime) -> Counter:
    """The counter locked from `now`, for twice as long as its last lock."""
    locks = counter.locks + 1
    return Counter(failures=0, window_start=None, locked_until=now + lock_time(locks), locks=locks)


def after_attempt(counter: Counter, now: datetime) -> Counter:
    """The counter when a sign-in (not refused) begins at `now`: one more failure until it succeeds."""
    if counter.window_start is None or now - counter.window_start >= WINDOW:
        counter = replace(counter, failures=0, window_start=now)
    return replace(counter, failures=counter.failures + 1)


def after_success(counter: Counter) -> Counter:
    """The user's counter after a sign-in passed: its failures start again from none."""
    return replace(counter, failures=0, window_start=None)


def refunded(counter: Counter) -> Counter:
    """The address's counter after a sign-in from it passed: that sign-in is no failure (the others
    of the address stand: many users may sign in from one office)."""
    return replace(counter, failures=max(counter.failures - 1, 0))


class Outcome(StrEnum):
    STARTED = "started"  # begun; no trigger has seen its outcome yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a wrong password, or a sign-in the user's next one began before it passed
    REFUSED = "refused"  # refused before the password was checked: the user or the address is locked


class SignIn(BaseModel):
    """One sign-in attempt of a user, as an admin (or the user) reads it."""

    model_config = OUTPUT

    id: str
    user_id: str
    at: Utc
    outcome: Outcome = Field(
        description="succeeded; failed: a wrong password, or one that never passed before the user's next "
        "began (in Cognito's USER_PASSWORD_AUTH and USER_SRP_AUTH flows no trigger sees a wrong password); "
        "refused: the user or the address was locked; started: no outcome seen yet"
    )
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
    failures: int = Field(description="Sign-ins in the current window that did not pass (one under way counts)")
    locked_until: Utc | None = None
    locks: int = Field(description="Locks so far: the next lasts twice as long as the last")
    locked: bool = Field(default=False, description="Whether sign-ins are refused now")


def lock_id(subject: LockSubject, value: str) -> str:
    """The id of a counter: ids are `[0-9A-Za-z_-]{1,64}`, so an address's dots and colons become
    dashes, and a value too long for that stands as its hash."""
    name = f"user-{value}" if subject == LockSubject.USER else "ip-" + value.replace(".", "-").replace(":", "-")
    if len(name) <= 64:
        return name
    return f"{subject.value}-{hashlib.sha256(value.encode()).hexdigest()[:40]}"
