"""The tenant's sending window [issue 19 item 3]: when a marketing message may go out, and when a
message held outside it goes (the window's next opening).

The window is wall-clock time in the tenant's zone, `start` inclusive to `end` exclusive; an `end`
before its `start` crosses midnight (20:00-02:00 is open from 20:00 to 02:00 the next morning).
Daylight saving time follows the wall clock: a 09:00 start is 09:00 local in summer and winter.
Two edges of the clock change:
- a start inside the spring-forward gap (03:30 where clocks jump from 03:00 to 04:00) opens when
  the clock jumps over it (04:00 local, the first moment whose wall time is past 03:30);
- a wall time that happens twice (the fall-back hour) is open both times: the window is read off
  the wall clock, and a start in that hour opens at its first occurrence.

Transactional messages ignore the window (an OTP or a reminder must not wait until morning): the
sender checks the window for marketing messages only (services/sms/sending.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.sms.domain.setup import SmsWindow


def is_open(window: SmsWindow, at: datetime) -> bool:
    """Whether the window is open at the moment `at` (timezone-aware)."""
    wall = at.astimezone(ZoneInfo(window.time_zone)).time().replace(tzinfo=None)
    if window.start < window.end:
        return window.start <= wall < window.end
    return wall >= window.start or wall < window.end  # crossing midnight


def next_opening(window: SmsWindow, at: datetime) -> datetime:
    """`at` when the window is open then, else the first moment after it when the window opens (UTC)."""
    if is_open(window, at):
        return at
    zone = ZoneInfo(window.time_zone)
    today = at.astimezone(zone).date()
    for days in range(-1, 8):
        candidate = opening_on(today + timedelta(days=days), window.start, zone)
        if candidate > at and is_open(window, candidate):
            return candidate
    raise ValueError(f"the window {window.start}-{window.end} never opens")  # (a window inside a DST gap, daily)


def opening_on(day: date, start: time, zone: ZoneInfo) -> datetime:
    """The moment (UTC) the wall clock of `zone` reaches `start` on `day`: its first occurrence when
    the fall-back hour repeats it, the clock's jump when the spring-forward gap skips it."""
    wall = datetime.combine(day, start)
    first = wall.replace(tzinfo=zone)  # fold 0: the earlier of two; in a gap, the offset before the jump
    # (read back through UTC: astimezone to the same zone returns the moment unchanged)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    # In the gap: between the fold-1 reading (before the jump) and the fold-0 one (after it), the
    # first whole second whose wall time is past `start` is the jump itself.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
