"""A service's feature modules, named once, and the registries they fill when imported.

Feature modules register what they do at import: event subscriptions and jobs
(`shared/subscriptions.py`), tenant setting defaults (`shared/service.py`'s `Defaults`), hooks a
service runs on its own changes (`Hooks`). A service names its feature modules once, in
`services/<name>/features.py`, by the registry each fills:

    FEATURES = Features("services.email", events=["recipients", ...], jobs=["automations", ...],
                        defaults=["list_types", ...], hooks=[...])

and builds its registries on that list. A registry imports the modules listed for it the first
time it is read (`Subscriptions.handlers()`: `events`; `run_job()`: `jobs`; `Defaults.names`:
`defaults`; iterating `Hooks`: `hooks`), so whoever uses it sees every registration: no handler
has to remember to import the features first, and a consumer does not import the modules of the
jobs it never runs, nor an API request that opens a tenant's settings every consumer and job
(docs/decisions.md, "Cold start"). `events` may map each module to the event types it subscribes
to: a consumer's batch then imports only the modules of its events' types
(`Subscriptions.handlers(types)`). `Features(package, [...])` lists the same modules for every
registry. `tests/unit/test_features.py` fails when a module that registers is missing from its
registry's list, is listed for one it does not register with, or subscribes to a type it does not list.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

# The registries a feature module registers with: event subscriptions, jobs, setting defaults, hooks.
KINDS = ("events", "jobs", "defaults", "hooks")


class Features:
    """The feature modules of one service (names relative to its package) by the registry they
    fill (`KINDS`), imported on first use of that registry."""

    def __init__(
        self, package: str, modules: Sequence[str] = (), **kinds: Sequence[str] | Mapping[str, Sequence[str]]
    ) -> None:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown or (modules and kinds):
            raise ValueError(f"Features takes one list for every registry, or lists by {KINDS}; not {unknown}")
        self.package = package
        self.kinds = {kind: tuple(modules or kinds.get(kind, ())) for kind in KINDS}
        self.modules = tuple(dict.fromkeys(name for kind in KINDS for name in self.kinds[kind]))
        events = kinds.get("events")
        # `events` as {module: event types}: a batch loads only the modules of its events' types.
        self.events_of = {m: frozenset(types) for m, types in events.items()} if isinstance(events, Mapping) else None
        self._lock = threading.RLock()
        self._loaded: set[str] = set()
        self._loaded_modules: set[str] = set()
        self._loading = False

    @property
    def qualified(self) -> tuple[str, ...]:
        return tuple(f"{self.package}.{name}" for name in self.modules)

    def load(self, kind: str | None = None) -> None:
        """Import the feature modules of one registry (`kind`; every one's when None), once per
        process (their registrations run at import).

        A read of a registry while the modules are being imported (from one of them, at import)
        sees what is registered so far rather than importing again.
        """
        kinds = KINDS if kind is None else (kind,)
        if self._loaded.issuperset(kinds):
            return
        with self._lock:
            if self._loading:
                return
            self._loading = True
            try:
                for each in kinds:
                    if each not in self._loaded:
                        self._import(self.kinds[each])
                        self._loaded |= {each}
            finally:
                self._loading = False

    def load_events(self, types: Collection[str]) -> None:
        """Import the modules that subscribe to any of these event types (every `events` module when
        the list names no types), once per process."""
        if self.events_of is None or "events" in self._loaded:
            self.load("events")
            return
        wanted = [m for m, subscribed in self.events_of.items() if subscribed & set(types)]
        if set(wanted) <= self._loaded_modules:
            return
        with self._lock:
            if self._loading:
                return
            self._loading = True
            try:
                self._import(wanted)
            finally:
                self._loading = False

    def _import(self, names: Sequence[str]) -> None:
        for name in names:
            if name not in self._loaded_modules:
                importlib.import_module(f"{self.package}.{name}")
                self._loaded_modules |= {name}


class Hooks(Generic[T]):
    """Functions a service runs on its own changes, registered by its features; iterating loads the
    modules listed as `hooks`."""

    def __init__(self, features: Features) -> None:
        self._features = features
        self._hooks: list[T] = []

    def register(self, hook: T) -> T:
        self._hooks.append(hook)
        return hook

    def __iter__(self) -> Iterator[T]:
        self._features.load("hooks")
        return iter(list(self._hooks))

    def __len__(self) -> int:
        self._features.load("hooks")
        return len(self._hooks)
