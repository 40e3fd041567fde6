"""(w) A cold start in the local runtime: a spawned worker (`kontakt dev`) against one forked from the
preloaded server the test stacks use (`LocalRuntime(preload=True)`, infra/worker_preload.py).

Each API function is started cold RUNS times by one authenticated GET; the figure is the median CPU
its worker process used until it answered (its import, its first request, the request itself),
read from /proc: CPU time, which the machine's other load does not inflate as it does wall time.
The suite's ~250 cold starts a run are what the difference saves (docs/decisions.md, "sixth pass").

Run: .venv/bin/pytest -s -p no:xdist tests/perf/test_w_worker_starts.py
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.helpers import new_tenant

from .conftest import FIGURES, PROJECT_ROOT, render

pytestmark = [
    pytest.mark.perf,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a worker's CPU from /proc"),
]

RUNS = int(os.environ.get("KONTAKT_PERF_WORKER_STARTS", "6"))
READS = {
    "DirectoryApiFunction": "/contacts",
    "ActivitiesApiFunction": "/activities",
    "InvoicingApiFunction": "/products",
}


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _cold_starts(preload: bool) -> dict[str, float]:
    """The median CPU seconds of each function's worker over RUNS cold starts."""
    with LocalRuntime(PROJECT_ROOT, stage="dev", port=0, batching_window=0, preload=preload) as stack:
        assert stack.functions is not None
        headers = {"Authorization": "Bearer " + stack.token(new_tenant(), "perf-admin", "admin")}
        medians = {}
        for function, path in READS.items():
            pool = stack.functions._pools[function]
            used = []
            for _ in range(RUNS):
                pool.stop()  # the next request starts a new worker
                answer = requests.get(stack.api_url + path, headers=headers, timeout=60)
                assert answer.status_code == 200, answer.text
                [pid] = pool.pids()
                used.append(_cpu(pid))
            medians[function] = statistics.median(used)
        return medians


def test_a_preloaded_worker_starts_on_less_cpu() -> None:
    spawned, preloaded = _cold_starts(preload=False), _cold_starts(preload=True)
    rows = []
    for function in READS:
        saved = spawned[function] - preloaded[function]
        rows.append((function, f"{spawned[function]:.3f}", f"{preloaded[function]:.3f}", f"{saved:.3f}"))
        FIGURES.add("w. worker starts", f"{function} cold start, spawned", round(spawned[function], 3), "CPU s")
        FIGURES.add("w. worker starts", f"{function} cold start, preloaded", round(preloaded[function], 3), "CPU s")
    print(render(f"(w) worker cold start, median of {RUNS}", rows, ("function", "spawned", "preloaded", "saved")))
    assert all(preloaded[f] < spawned[f] for f in READS), (spawned, preloaded)
