"""What a service does with the events it consumes and the jobs it runs, registered by its features.

Feature modules register at import; the registry imports its service's feature modules listed
for it (`events`, `jobs`: `shared/features.py`) the first time it is read, so a service's consumer and jobs handlers see
every subscription and job and route by event type or job name. Several features may subscribe
to one event type: they run in turn, in the event's one unit of work (whose dedupe marker commits
with them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared import batch_scope
from shared.consumer import Handle
from shared.events import Envelope
from shared.features import Features
from shared.store import UnitOfWork


class Job(BaseModel):
    """A message on a service's jobs queue (from an EventBridge Scheduler schedule).

    `scheduled_time` is the schedule's `<aws.scheduler.scheduled-time>`: one firing keeps one
    value across retries, so work derived from it is idempotent per firing.
    """

    model_config = ConfigDict(extra="allow")

    job: str
    scheduled_time: str | None = None
    tenant_id: str | None = None


RunJob = Callable[[Job], None]


class Subscriptions:
    def __init__(self, features: Features) -> None:
        self._features = features
        self._handlers: dict[str, list[Handle]] = defaultdict(list)
        self._jobs: dict[str, RunJob] = {}

    def subscribe(self, event_type: str) -> Callable[[Handle], Handle]:
        def register(handle: Handle) -> Handle:
            self._handlers[event_type].append(handle)
            return handle

        return register

    def job(self, name: str) -> Callable[[RunJob], RunJob]:
        def register(run: RunJob) -> RunJob:
            if name in self._jobs:
                raise ValueError(f"job {name} is registered twice")
            self._jobs[name] = run
            return run

        return register

    def handlers(self, types: Collection[str] | None = None) -> dict[str, Handle]:
        """Every subscribed event type and what handles it (the `events` feature modules loaded
        first); with `types`, those types only, loading only the modules that subscribe to them."""
        if types is None:
            self._features.load("events")
        else:
            self._features.load_events(types)
        return {
            event_type: _all_of(list(handles))
            for event_type, handles in self._handlers.items()
            if types is None or event_type in types
        }

    @property
    def job_names(self) -> list[str]:
        self._features.load("jobs")
        return sorted(self._jobs)

    def run_job(self, message: dict[str, Any]) -> None:
        current = Job.model_validate(message)
        self._features.load("jobs")
        run = self._jobs.get(current.job)
        if run is None:
            raise ValueError(f"unknown job {current.job}")
        run(current)


def _all_of(handles: list[Handle]) -> Handle:
    def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        for one in handles:
            one(envelope, uow)

    if all(batch_scope.is_together(one) for one in handles):  # shared/consumer.py
        batch_scope.together(handle)
    return handle
