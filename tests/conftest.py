"""Order of the whole suite: under `make test` (`pytest -n 3 --dist loadfile --no-loadscope-reorder`)
each test worker takes the next file in collection order when it runs out of work, so the files
that take longest should come first and the many quick unit files last, where they fill the gaps
while the other workers finish (docs/testing.md). The folders already collect in that order (e2e,
infra, integration, unit); a file marked `heavy` goes before all of them."""

from __future__ import annotations

import pytest

from infra import botocore_data

botocore_data.share()  # botocore's data files parsed once per test process, not once per session


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)  # stable: otherwise as collected
