"""The lock-out arithmetic (services/access/domain/logins.py): when failures lock, for how long."""

from datetime import UTC, datetime, timedelta

from services.access.domain.logins import (
    FIRST_LOCK,
    LONGEST_LOCK,
    USER_LIMIT,
    WINDOW,
    Counter,
    after_failure,
    after_success,
    is_locked,
    lock_time,
)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _fail(counter: Counter, now: datetime, times: int) -> Counter:
    for _ in range(times):
        counter = after_failure(counter, now, USER_LIMIT)
    return counter


def test_the_limit_th_failure_in_the_window_locks_and_locks_double_up_to_a_day() -> None:
    counter = _fail(Counter(), T0, USER_LIMIT - 1)
    assert not is_locked(counter, T0) and counter.failures == USER_LIMIT - 1
    counter = _fail(counter, T0, 1)
    assert counter.locks == 1 and counter.locked_until == T0 + FIRST_LOCK
    assert is_locked(counter, T0 + FIRST_LOCK - timedelta(seconds=1)) and not is_locked(counter, T0 + FIRST_LOCK)
    # Failures while locked do not count (they never reach a password check) and change nothing.
    assert _fail(counter, T0 + timedelta(seconds=30), 10) == counter
    # The next burst after the lock ends locks again, twice as long.
    later = T0 + FIRST_LOCK
    counter = _fail(counter, later, USER_LIMIT)
    assert counter.locks == 2 and counter.locked_until == later + 2 * FIRST_LOCK
    assert [lock_time(n) for n in (1, 2, 3, 4)] == [FIRST_LOCK * k for k in (1, 2, 4, 8)]
    assert lock_time(40) == LONGEST_LOCK


def test_failures_outside_the_window_start_again_and_a_success_clears_them() -> None:
    counter = _fail(Counter(), T0, USER_LIMIT - 1)
    counter = _fail(counter, T0 + WINDOW, 1)  # the window has passed: this is the first of a new one
    assert counter.failures == 1 and counter.window_start == T0 + WINDOW and not counter.locks
    counter = after_success(_fail(counter, T0 + WINDOW, USER_LIMIT - 2))
    assert counter.failures == 0 and counter.window_start is None
    assert not is_locked(_fail(counter, T0 + WINDOW, USER_LIMIT - 1), T0 + WINDOW)
    # A success keeps past locks: the next lock still doubles.
    locked = after_success(_fail(Counter(), T0, USER_LIMIT))
    assert _fail(locked, T0 + FIRST_LOCK, USER_LIMIT).locked_until == T0 + FIRST_LOCK + 2 * FIRST_LOCK
