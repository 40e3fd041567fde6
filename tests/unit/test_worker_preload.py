"""A preloaded worker (infra/worker_preload.py) starts as a spawned one would, only sooner.

The forkserver imports the base libraries once, and makes a client of each AWS service once, before
any function's environment exists. That is the same as doing it in the worker only if nothing
read from the environment meanwhile differs between the two: each variable read must have, in every function of the
template, the value the forkserver had (or be absent from both). And no function code may come from
the forkserver: `shared` and `services` are each function's own, from its code directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra import local_dns
from infra.functions import inherited_environment, shared_environment, worker_spec
from infra.template import load_stack

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Imports the preload with every read of os.environ recorded (os.getenv reads through `get`).
RECORDING = """
import json, os, sys
read = set()
class Recording(os._Environ):
    def __getitem__(self, key):
        read.add(key)
        return super().__getitem__(key)
    def __contains__(self, key):
        read.add(key)
        return super().__contains__(key)
    def clear(self):  # the preload's own clear(): MutableMapping's reads every key it removes
        for key in list(self):
            super().__delitem__(key)
e = os.environ
os.environ = Recording(e._data, e.encodekey, e.decodekey, e.encodevalue, e.decodevalue)
import infra.worker_preload
own = sorted(m for m in sys.modules if m.split(".")[0] in ("shared", "services"))
print(json.dumps({"read": sorted(read), "own": own}))
"""


@pytest.fixture(scope="module")
def preloaded() -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", RECORDING], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_what_the_libraries_read_at_import_is_the_same_in_every_function(preloaded: dict[str, list[str]]) -> None:
    assert preloaded["read"], "the recording saw no read: it no longer records"
    forkserver = shared_environment()
    stack = load_stack(PROJECT_ROOT)
    hosts = local_dns.environment({"example.test": ["127.0.0.1"]})
    workers = {  # as the worker sets it up (infra/functions.py `_worker_main`)
        name: {
            **inherited_environment(),
            **worker_spec(function, PROJECT_ROOT, "http://127.0.0.1:1").environment,
            **hosts,
        }
        for name, function in stack.functions.items()
    }
    differing = {
        (name, key)
        for name, environment in workers.items()
        for key in preloaded["read"]
        if environment.get(key) != forkserver.get(key)
    }
    assert not differing, f"read by the preload, set otherwise in the function: {sorted(differing)}"


def test_no_function_code_is_preloaded(preloaded: dict[str, list[str]]) -> None:
    assert preloaded["own"] == []
