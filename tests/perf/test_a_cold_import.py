"""(a) Cold import time of every handler module of template.yaml, as a Lambda cold start pays it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra.template import load_stack

from .conftest import FIGURES, PROJECT_ROOT, median, render, stopwatch

pytestmark = pytest.mark.perf

RUNS = 5
EXTRA_MODULES = ("shared.outbox",)
# Listed from template.yaml; named here so that a handler dropped from the template fails the benchmark.
EXPECTED_MODULES = (
    "services.directory.handlers.api",
    "services.activities.handlers.api",
    "services.activities.handlers.consumer",
    "services.activities.handlers.jobs",
    "shared.outbox",
)


def handler_modules() -> list[str]:
    """The modules of every function's handler in template.yaml, plus the outbox publisher."""
    stack = load_stack(PROJECT_ROOT)
    modules = [function.handler.rsplit(".", 1)[0] for function in stack.functions.values()]
    return sorted(dict.fromkeys([*modules, *EXTRA_MODULES]))


def _env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    # What a function's environment holds at import time; nothing is called at import.
    env.update(
        {
            "AWS_DEFAULT_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_SERVICE_NAME": "perf",
            "POWERTOOLS_METRICS_NAMESPACE": "Kontakt",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    return env


def _wall_ms(code: str) -> float:
    with stopwatch() as elapsed:
        subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=_env(), check=True)
    return elapsed() * 1000


def test_cold_import_time_of_each_handler() -> None:
    modules = handler_modules()
    assert set(EXPECTED_MODULES) <= set(modules), sorted(set(EXPECTED_MODULES) - set(modules))
    for module in modules:  # compile the .pyc files once, as a deployed package has them
        _wall_ms(f"import {module}")
    bare = median([_wall_ms("pass") for _ in range(RUNS)])
    rows = []
    for module in modules:
        total = median([_wall_ms(f"import {module}") for _ in range(RUNS)])
        import_ms = max(0.0, total - bare)
        rows.append((module, f"{import_ms:,.0f}", f"{total:,.0f}"))
        FIGURES.add("a. cold import", module, round(import_ms), "ms")
        assert import_ms < 20_000, f"{module} takes {import_ms:.0f} ms to import"
    FIGURES.add("a. cold import", "(bare interpreter start)", round(bare), "ms")
    print(
        render(
            f"(a) cold import, median of {RUNS} fresh processes, bare interpreter start {bare:,.0f} ms subtracted",
            rows,
            header=("handler module", "import ms", "process ms"),
        )
    )
