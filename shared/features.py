"""A service's feature modules, named once, and the registries they fill when imported.

Feature modules register what they do at import: event subscriptions and jobs
(`shared/subscriptions.py`), tenant setting defaults (`shared/service.py`'s `Defaults`), hooks a
service runs on its own changes (`Hooks`). A service names its feature modules once, in
`services/<name>/features.py`:

    FEATURES = Features("services.email", ["automations", "campaigns", ...])

and builds its registries on that list. A registry imports every listed module the first time it
is read (`Subscriptions.handlers()`, `run_job()`, `Defaults.names`, iterating `Hooks`), so whoever
uses it sees every registration: no handler has to remember to import the features first.
`tests/unit/test_features.py` fails when a module that registers is missing from its service's list.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Features:
    """The feature modules of one service (names relative to its package), imported on first use."""

    def __init__(self, package: str, modules: Sequence[str]) -> None:
        self.package = package
        self.modules = tuple(modules)
        self._lock = threading.RLock()
        self._loaded = False
        self._loading = False

    @property
    def qualified(self) -> tuple[str, ...]:
        return tuple(f"{self.package}.{name}" for name in self.modules)

    def load(self) -> None:
        """Import every feature module, once per process (their registrations run at import).

        A read of a registry while the modules are being imported (from one of them, at import)
        sees what is registered so far rather than importing again.
        """
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:
                return
            self._loading = True
            try:
                for module in self.qualified:
                    importlib.import_module(module)
                self._loaded = True
            finally:
                self._loading = False


class Hooks(Generic[T]):
    """Functions a service runs on its own changes, registered by its features; iterating loads them all."""

    def __init__(self, features: Features) -> None:
        self._features = features
        self._hooks: list[T] = []

    def register(self, hook: T) -> T:
        self._hooks.append(hook)
        return hook

    def __iter__(self) -> Iterator[T]:
        self._features.load()
        return iter(list(self._hooks))

    def __len__(self) -> int:
        self._features.load()
        return len(self._hooks)
