"""The one place that reads the time and waits for it, so that tests can move it."""

import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def epoch() -> float:
    """Now in seconds since the epoch (e.g. for one-second rate windows and Lambda deadlines)."""
    return time.time()


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
