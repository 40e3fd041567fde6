"""What the activities service does with the events it consumes and the jobs it runs.

Feature modules register here at import; `handlers/consumer.py` and `handlers/jobs.py` import
the feature modules and route by event type or job name. Several features may subscribe to one
event type (contact.erased): they run in turn, in the event's one unit of work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.consumer import Handle
from shared.events import Envelope
from shared.store import UnitOfWork

_HANDLERS: dict[str, list[Handle]] = defaultdict(list)
_JOBS: dict[str, Callable[[Job], None]] = {}


class Job(BaseModel):
    """A message on the jobs queue (from an EventBridge Scheduler schedule).

    `scheduled_time` is the schedule's `<aws.scheduler.scheduled-time>`: one firing keeps one
    value across retries, so work derived from it is idempotent per firing.
    """

    model_config = ConfigDict(extra="allow")

    job: str
    scheduled_time: str | None = None
    tenant_id: str | None = None


def subscribe(event_type: str) -> Callable[[Handle], Handle]:
    def register(handle: Handle) -> Handle:
        _HANDLERS[event_type].append(handle)
        return handle

    return register


def job(name: str) -> Callable[[Callable[[Job], None]], Callable[[Job], None]]:
    def register(run: Callable[[Job], None]) -> Callable[[Job], None]:
        if name in _JOBS:
            raise ValueError(f"job {name} is registered twice")
        _JOBS[name] = run
        return run

    return register


def _all_of(handles: list[Handle]) -> Handle:
    def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        for one in handles:
            one(envelope, uow)

    return handle


def handlers() -> dict[str, Handle]:
    return {event_type: _all_of(list(handles)) for event_type, handles in _HANDLERS.items()}


def run_job(message: dict[str, Any]) -> None:
    current = Job.model_validate(message)
    run = _JOBS.get(current.job)
    if run is None:
        raise ValueError(f"unknown job {current.job}")
    run(current)
