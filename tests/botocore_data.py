"""One botocore data loader for the whole test process.

botocore parses its JSON data files (endpoints.json, each service's model, its endpoint rules)
once per session, into the session's loader; pynamodb makes a session per connection and thread.
The integration tests run handlers in the test process, each with the connections a cold start
makes, several in threads: 410 sessions in tests/integration, and parsing the same files again
was half of that process's CPU. A function makes its session once per process in Lambda, as the
e2e stack's workers do: they are not changed, nor what is sent or answered. The loader keeps what
it parsed (botocore's own cache), so every session of the process shares it.
"""

from __future__ import annotations

import functools

import botocore.session
from botocore import loaders


class _SearchPaths(list[str]):
    """boto3 adds its data folder to its session's loader's search paths: to the shared one once."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> loaders.Loader:
    loader = loaders.create_loader(search_path_string)
    loader._search_paths = _SearchPaths(loader.search_paths)
    return loader


def share() -> None:
    """Every botocore session made from now on in this process uses one loader (per data path)."""
    botocore.session.create_loader = _shared_loader
