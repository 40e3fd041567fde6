"""What a function of template.yaml imports when Lambda starts it: its environment, its packages, a probe.

A probe runs in a fresh interpreter (`python -S`: no site-packages of the dev venv) whose import
path is the project and a directory of links to exactly the distributions of the functions' layer
(requirements/lambda.txt): what `make build` deploys, so a library installed only for the tests
(httpx, requests, moto...) is not imported by X-Ray's patching or anything else. The environment
is the function's own from template.yaml plus what Lambda adds, with tracing as deployed
(`Tracing: Active`: no POWERTOOLS_TRACE_DISABLED, an X-Ray daemon address; Powertools' tracer is
on because LAMBDA_TASK_ROOT is set).

The probe imports the handler's module, then does what the first invocation would import on top:
a service's registries load the feature modules listed for them on their first read
(`shared/features.py`), and the functions that read them on every invocation (FIRST_CALL_LOADS: a
consumer routes by the subscriptions of its batch's event types (FIRST_EVENTS) and a jobs
function by its jobs, both open a tenant's
settings (the defaults) and may change activities (the hooks); an API request opens a caller,
which lists the setting defaults, and mounts the route modules of its path: FIRST_REQUEST) pay for
those modules at their first call, so they count as the cold start's too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from infra.functions import worker_spec
from infra.template import Function, load_stack

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# What the reference pays: the libraries every function needs, measured the same way.
REFERENCE = ("boto3", "pynamodb.models", "pydantic", "aws_lambda_powertools.event_handler.api_gateway")

# The registries (shared.features.KINDS) the first invocation of a kind of handler reads.
FIRST_CALL_LOADS = {
    ".handlers.api": ("defaults",),
    ".handlers.consumer": ("events", "defaults", "hooks"),
    ".handlers.jobs": ("jobs", "defaults", "hooks"),
}
# A consumer imports the feature modules of its first batch's event types (shared.features'
# `load_events`): the first batch counted is one of the service's most frequent events.
FIRST_EVENTS = {
    "services.activities.handlers.consumer": "email.sent",  # a campaign's mails: marketing activities
    "services.email.handlers.consumer": "audience.page",  # a campaign's recipients being staged
    "services.webhooks.handlers.consumer": "contact.updated",  # the fan-out takes every offered type alike
}
# An API mounts the route modules of a request's path at its first request (shared.api.RouteModules):
# the first request counted is one for the service's main records.
FIRST_REQUEST = {
    "services.activities.handlers.api": "/activities",
    "services.directory.handlers.api": "/contacts",
    "services.email.handlers.api": "/campaigns",
    "services.audit.handlers.api": "/audit",
}

PROBE = r"""
import importlib, importlib.util, json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
for name in sys.argv[1].split(","):
    importlib.import_module(name)
if sys.argv[2] != "import":  # what the first invocation's registry reads import
    sys.modules["shared"].init_done()  # as the first invocation does first (shared.entry)
    for name in [m for m in sys.modules if m.startswith("services.") and m.endswith(".features")]:
        for kind in sys.argv[2].split(","):
            if kind.startswith("events="):  # a consumer's first batch, of these event types
                sys.modules[name].FEATURES.load_events(kind.removeprefix("events=").split("+"))
            else:
                sys.modules[name].FEATURES.load(kind)
    if sys.argv[3]:  # an API's first request mounts the routes of its path
        sys.modules[sys.argv[1]].app.mount(sys.argv[3])
wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
modules, ran = sorted(sys.modules), None
if sys.argv[4] and importlib.util.find_spec(sys.argv[4]):  # then every registry of the service's features
    importlib.import_module(sys.argv[4]).FEATURES.load()
    ran = sorted(sys.modules)
print(json.dumps({"wall_ms": wall, "cpu_ms": cpu, "modules": modules, "ran": ran}))
"""


@dataclass(frozen=True)
class Probe:
    wall_ms: float
    cpu_ms: float
    modules: tuple[str, ...]
    importtime: str = ""  # python -X importtime's report, when asked for
    ran: tuple[str, ...] = ()  # the modules once every registry of the service loaded, when asked for


@cache
def functions() -> list[Function]:
    stack = load_stack(PROJECT_ROOT)
    return sorted(stack.functions.values(), key=lambda f: f.logical_id)


def handler_module(function: Function) -> str:
    return function.handler.rsplit(".", 1)[0]


@cache
def layer_path() -> Path:
    """A directory of links to the layer's distributions (top-level packages and their metadata)."""
    target = Path(tempfile.mkdtemp(prefix="kontakt-layer-"))
    for line in (PROJECT_ROOT / "requirements" / "lambda.txt").read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9_.-]+)==", line)
        if not pinned:
            continue
        dist = metadata.distribution(pinned.group(1))
        base = Path(str(dist.locate_file("")))
        for top in {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "bin", "__pycache__")}:
            link = target / top
            if not link.exists():
                link.symlink_to(base / top)
    return target


def environment(function: Function) -> dict[str, str]:
    """The function's environment in Lambda, tracing as template.yaml deploys it (Active)."""
    env = dict(worker_spec(function, PROJECT_ROOT, "").environment)
    for local_only in ("POWERTOOLS_TRACE_DISABLED", "AWS_ENDPOINT_URL"):
        env.pop(local_only, None)
    env.update(
        {
            "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(layer_path())]),
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    return env


def probe(
    function: Function,
    modules: str | None = None,
    *,
    first_call: bool = True,
    importtime: bool = False,
    ran: bool = False,
) -> Probe:
    """Import `modules` (the function's handler module by default) in a fresh interpreter; `ran`:
    then every feature module of the function's service too (`Probe.ran`), after the figures."""
    command = [sys.executable, "-S", *(["-X", "importtime"] if importtime else []), "-c", PROBE]
    kinds = next((k for end, k in FIRST_CALL_LOADS.items() if handler_module(function).endswith(end)), ())
    batch = FIRST_EVENTS.get(handler_module(function))
    kinds = tuple(f"events={batch}" if kind == "events" and batch else kind for kind in kinds)
    first = ",".join(kinds) if first_call and modules is None and kinds else "import"
    path = FIRST_REQUEST.get(handler_module(function), "") if first != "import" else ""
    service = ".".join(handler_module(function).split(".")[:2])
    features = f"{service}.features" if ran and service.startswith("services.") else ""
    command += [modules or handler_module(function), first, path, features]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=environment(function), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{function.logical_id}: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    held = tuple(result["ran"] or (result["modules"] if ran else ()))  # the publisher: no service to load
    return Probe(result["wall_ms"], result["cpu_ms"], tuple(result["modules"]), done.stderr if importtime else "", held)


def package(module: str) -> str:
    """The package an import is counted under: `services.email.domain`, `shared.events`, `botocore`."""
    parts = module.split(".")
    depth = {"services": 3, "shared": 2, "aws_lambda_powertools": 2}.get(parts[0], 1)
    return ".".join(parts[:depth])


def heaviest(importtime: str, count: int = 5) -> list[tuple[str, float]]:
    """The `count` packages whose modules' own import time (ms, `-X importtime`'s self) is largest."""
    totals: dict[str, float] = {}
    for line in importtime.splitlines():
        match = re.match(r"import time:\s+(\d+)\s+\|\s+\d+\s+\|\s*(\S+)", line)
        if match:
            name = package(match.group(2))
            totals[name] = totals.get(name, 0.0) + int(match.group(1)) / 1000
    return sorted(totals.items(), key=lambda row: -row[1])[:count]
