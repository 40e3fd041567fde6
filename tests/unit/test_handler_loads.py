"""A function loads only what it serves: each Lambda handler of template.yaml, imported alone.

Each handler is imported in a fresh interpreter with its function's template environment, as a
Lambda cold start does, with the feature modules its first invocation loads, and `sys.modules` is
read:
- no function but an HTTP API loads an HTTP route module (`services.<name>.handlers.routes`) or
  Powertools' event handler (the resolver, its OpenAPI models and validation): a queue, a stream or
  a Cognito trigger has no request to route;
- the outbox publisher (`shared.outbox.publisher_handler`) loads no service module at all: it
  forwards envelopes and needs no feature's models;
- an HTTP API does load them (so the check sees what it looks for).
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from infra.functions import worker_spec
from infra.template import Function, build_stack, translate

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[2]
PUBLISHER = "shared.outbox.publisher_handler"
EVENT_HANDLER = "aws_lambda_powertools.event_handler"

# Imports the handler, then the service's feature modules, which its registries load on the first
# invocation that reads them (shared/features.py): what the function holds once it has run.
IMPORT_HANDLER = """
import importlib, importlib.util, json, sys
module, _, name = sys.argv[1].rpartition(".")
if not callable(getattr(importlib.import_module(module), name)):
    raise SystemExit(f"{sys.argv[1]} is not callable")
package = ".".join(module.split(".")[:2])
if module.startswith("services.") and importlib.util.find_spec(package + ".features"):
    features = getattr(importlib.import_module(package + ".features"), "FEATURES", None)
    if features is not None:
        features.load()
print(json.dumps(sorted(sys.modules)))
"""


@cache
def functions() -> tuple[tuple[Function, bool], ...]:
    """Every function of the template, one per handler, and whether an HTTP API routes to it."""
    stack = build_stack(translate(ROOT))
    routed = {route.function for route in stack.routes}
    by_handler: dict[str, tuple[Function, bool]] = {}
    for function in stack.functions.values():
        by_handler.setdefault(function.handler, (function, function.logical_id in routed))
    return tuple(by_handler.values())


def loaded(function: Function) -> list[str]:
    environment = dict(worker_spec(function, ROOT, "http://127.0.0.1:9").environment)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_HANDLER, function.handler],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"{function.handler}:\n{result.stderr[-2000:]}"
    modules: list[str] = json.loads(result.stdout.splitlines()[-1])
    return modules


def not_for(handler: str, http: bool, modules: list[str]) -> list[str]:
    """The modules this handler must not load."""
    wrong = []
    if not http:
        wrong += [m for m in modules if ".handlers.routes" in m and m.startswith("services.")]
        wrong += [m for m in modules if m == EVENT_HANDLER or m.startswith(EVENT_HANDLER + ".")]
    if handler == PUBLISHER:
        wrong += [m for m in modules if m == "services" or m.startswith("services.")]
    return sorted(set(wrong))


@pytest.fixture(scope="module")
def imports() -> dict[str, tuple[bool, list[str]]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda f: (f[0].handler, f[1], loaded(f[0])), functions())
        return {handler: (http, modules) for handler, http, modules in found}


def test_the_template_names_queue_functions_http_apis_and_the_publisher() -> None:
    handlers = {f.handler: http for f, http in functions()}
    assert handlers[PUBLISHER] is False
    assert handlers["services.email.handlers.api.handler"] is True
    assert handlers["services.email.handlers.sender.handler"] is False
    assert sum(handlers.values()) >= 3 and len(handlers) - sum(handlers.values()) >= 10


def test_each_function_loads_only_what_it_serves(imports: dict[str, tuple[bool, list[str]]]) -> None:
    wrong = {handler: not_for(handler, http, modules) for handler, (http, modules) in imports.items()}
    assert {handler: modules[:10] for handler, modules in wrong.items() if modules} == {}


def test_an_http_api_loads_what_the_check_looks_for(imports: dict[str, tuple[bool, list[str]]]) -> None:
    http, modules = imports["services.email.handlers.api.handler"]
    assert http
    assert not_for("services.email.handlers.api.handler", False, modules), "routes and the resolver not seen"
    assert "services.email.handlers.routes" in modules  # its feature route modules: by a request's path
    _, publisher = imports[PUBLISHER]
    assert "shared.outbox" in publisher
    assert not_for(PUBLISHER, False, [*publisher, "services.email.events"]) == ["services.email.events"]
