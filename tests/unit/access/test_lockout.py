"""The lock-out arithmetic (services/access/domain/logins.py): when sign-ins lock, for how long."""

from datetime import UTC, datetime, timedelta

from services.access.domain.logins import (
    FIRST_LOCK,
    LONGEST_LOCK,
    USER_LIMIT,
    WINDOW,
    Counter,
    LockSubject,
    after_attempt,
    after_success,
    is_locked,
    lock_due,
    lock_id,
    lock_time,
    locked_now,
    refunded,
)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _sign_in(counter: Counter, now: datetime, limit: int = USER_LIMIT) -> tuple[Counter, bool]:
    """What a beginning sign-in does to a counter (as services/access/logins.py `begin`): refused
    (and locking when due), or counted until it passes."""
    if is_locked(counter, now):
        return counter, False
    if lock_due(counter, now, limit):
        return locked_now(counter, now), False
    return after_attempt(counter, now), True


def _fail(counter: Counter, now: datetime, times: int) -> Counter:
    for _ in range(times):
        counter, _ = _sign_in(counter, now)
    return counter


def test_the_sign_in_after_limit_failures_locks_and_locks_double_up_to_a_day() -> None:
    counter = _fail(Counter(), T0, USER_LIMIT)
    assert not is_locked(counter, T0) and counter.failures == USER_LIMIT
    counter, allowed = _sign_in(counter, T0)  # the next one finds a full window: refused, and locks
    assert not allowed and counter.locks == 1 and counter.locked_until == T0 + FIRST_LOCK
    assert is_locked(counter, T0 + FIRST_LOCK - timedelta(seconds=1)) and not is_locked(counter, T0 + FIRST_LOCK)
    # Sign-ins while locked do not count (they never reach a password check) and change nothing.
    assert _fail(counter, T0 + timedelta(seconds=30), 10) == counter
    # The next burst after the lock ends locks again, twice as long; then four times ...
    later = T0 + FIRST_LOCK
    counter, _ = _sign_in(_fail(counter, later, USER_LIMIT), later)
    assert counter.locks == 2 and counter.locked_until == later + 2 * FIRST_LOCK
    latest = later + 2 * FIRST_LOCK
    counter, _ = _sign_in(_fail(counter, latest, USER_LIMIT), latest)
    assert counter.locks == 3 and counter.locked_until == latest + 4 * FIRST_LOCK
    assert [lock_time(n) for n in (1, 2, 3, 4)] == [FIRST_LOCK * k for k in (1, 2, 4, 8)]
    assert lock_time(40) == LONGEST_LOCK


def test_failures_outside_the_window_start_again_and_a_success_clears_them() -> None:
    counter = _fail(Counter(), T0, USER_LIMIT)
    counter, allowed = _sign_in(counter, T0 + WINDOW)  # the window has passed: the first of a new one
    assert allowed and counter.failures == 1 and counter.window_start == T0 + WINDOW and not counter.locks
    counter = after_success(_fail(counter, T0 + WINDOW, USER_LIMIT - 2))
    assert counter.failures == 0 and counter.window_start is None
    assert not lock_due(_fail(counter, T0 + WINDOW, USER_LIMIT - 1), T0 + WINDOW, USER_LIMIT)
    # A success keeps past locks: the next lock still doubles.
    locked, _ = _sign_in(_fail(Counter(), T0, USER_LIMIT), T0)
    again = _fail(after_success(locked), T0 + FIRST_LOCK, USER_LIMIT)
    assert _sign_in(again, T0 + FIRST_LOCK)[0].locked_until == T0 + FIRST_LOCK + 2 * FIRST_LOCK


def test_a_success_takes_back_only_its_own_count_from_the_address() -> None:
    address = _fail(Counter(), T0, 3)
    assert refunded(address).failures == 2 and refunded(Counter()).failures == 0


def test_a_lock_id_fits_an_id_whatever_the_user_id_or_address() -> None:
    assert lock_id(LockSubject.USER, "user-1") == "user-user-1"
    assert lock_id(LockSubject.IP, "2001:db8::1") == "ip-2001-db8--1"
    long_user = "u" * 64
    made = lock_id(LockSubject.USER, long_user)
    assert len(made) <= 64 and made.startswith("user-") and made != lock_id(LockSubject.USER, "u" * 63 + "v")
