"""No hidden wiring: a service's registries see every registration without anyone importing for it.

A feature module registers at import: `@subscribe(...)` and `@job(...)` (the consumer's and the
jobs function's routing), `register_default(...)` (a tenant setting a new tenant gets), a hook on
the service's own changes (`@on_change`, `@on_batch`, `@on_batch_failure` in activities). Each
service names those modules once in `services/<name>/features.py`, and its registries load them on
first read (`shared/features.py`).

- Read from the source: every module that registers is in its service's list, and every listed
  module registers something (a listed module that does not is loaded by every function for
  nothing); every registry a service builds is built on that list.
- Run in a fresh interpreter that imports only the registry: the first `ensure_tenant` installs
  every default, `handlers()` routes every subscribed event type, every job runs, every hook runs:
  the same set as after importing every module of the service.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sources import parse

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

# The calls (or decorators) that register with a service's registries. `register` methods of the
# registries themselves are reached only through these names.
REGISTERS = {"subscribe", "job", "register_default", "on_change", "on_batch", "on_batch_failure"}
# The kernel's registries that load a service's features when read; a service builds them on FEATURES.
REGISTRIES = {"Subscriptions", "Defaults", "Hooks"}
# The registry (features.py's list) each registering name fills.
KIND_OF = {
    "subscribe": "events",
    "job": "jobs",
    "register_default": "defaults",
    "on_change": "hooks",
    "on_batch": "hooks",
    "on_batch_failure": "hooks",
}
KINDS = ("events", "jobs", "defaults", "hooks")


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def registrations(tree: ast.Module) -> list[tuple[str, int]]:
    """(registering name, line) of every registration in a module: calls and decorators.

    The bodies of functions named like a registration (the registration API itself) are skipped.
    """
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if _name(decorator) in REGISTERS:
                    found.append((str(_name(decorator)), decorator.lineno))
            if node.name in REGISTERS:
                return
            for child in node.body:
                visit(child)
            return
        if isinstance(node, ast.Call) and _name(node.func) in REGISTERS:
            found.append((str(_name(node.func)), node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return sorted(set(found), key=lambda f: f[1])


def feature_lists(service: Path) -> dict[str, list[str]] | None:
    """The modules `features.py` lists for each registry (`Features(package, events=[...], ...)`;
    one positional list serves every registry); None when there is no list."""
    path = service / "features.py"
    if not path.exists():
        return None
    for node in ast.walk(parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and _name(node.func) == "Features":
            package, *listed = node.args
            assert isinstance(package, ast.Constant) and package.value == f"services.{service.name}", (
                f"{path}: Features must name its own package services.{service.name}"
            )
            lists = {kind: listed[0] for kind in KINDS} if listed else {k.arg: k.value for k in node.keywords}
            assert set(lists) <= set(KINDS), f"{path}: the registries are {KINDS}"
            found = {}
            for kind, value in lists.items():
                names = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", None)
                assert names is not None, f"{path}: name the modules in a literal list (or dict, for events)"
                found[kind] = [str(ast.literal_eval(m)) for m in names if m is not None]
            return found
    return None


def feature_list(service: Path) -> list[str] | None:
    """Every module `features.py` lists, for any registry."""
    lists = feature_lists(service)
    return None if lists is None else sorted({m for modules in lists.values() for m in modules})


def module_of(service: Path, path: Path) -> str:
    parts = path.relative_to(service).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def wiring_problems(service: Path) -> list[str]:
    lists = feature_lists(service)
    problems = []
    registering: dict[str, list[tuple[str, int]]] = {}
    for path in sorted(service.rglob("*.py")):
        tree = parse(path.read_text(), str(path))
        module = module_of(service, path)
        if found := registrations(tree):
            registering[module] = found
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name(node.func) not in REGISTRIES:
                continue
            if not any(isinstance(a, ast.Name) and a.id == "FEATURES" for a in node.args):
                problems.append(
                    f"services.{service.name}.{module}:{node.lineno} builds {_name(node.func)} "
                    "without the service's FEATURES: reading it would not load the feature modules"
                )
    for module, found in registering.items():
        for kind in KINDS:
            lines = [(name, line) for name, line in found if KIND_OF[name] == kind]
            if lines and (lists is None or module not in lists.get(kind, [])):
                where = ", ".join(f"{name} at line {line}" for name, line in lines)
                problems.append(
                    f"services.{service.name}.{module} registers ({where}) but is not in "
                    f"services/{service.name}/features.py's {kind}: a function that does not happen to import it "
                    "runs without these registrations"
                )
    one_list = lists is not None and len({tuple(m) for m in lists.values()}) == 1  # Features(package, [...])
    for kind, modules in ({"every": next(iter(lists.values()))} if one_list and lists else lists or {}).items():
        for module in modules:
            if not (service / f"{module.replace('.', '/')}.py").exists():
                problems.append(f"services/{service.name}/features.py lists {module}, which does not exist")
            elif one_list and module not in registering:
                problems.append(
                    f"services/{service.name}/features.py lists {module}, which registers nothing: "
                    "every function of the service would load it for nothing"
                )
            elif not one_list and not any(KIND_OF[name] == kind for name, _ in registering.get(module, [])):
                problems.append(
                    f"services/{service.name}/features.py lists {module} as {kind}, which it does not register: "
                    "every function that reads that registry would load it for nothing"
                )
    return problems


def services() -> list[Path]:
    return sorted(p for p in SERVICES.iterdir() if (p / "__init__.py").exists())


@pytest.mark.parametrize("service", services(), ids=lambda p: p.name)
def test_every_module_that_registers_is_in_its_service_feature_list(service: Path) -> None:
    assert wiring_problems(service) == []


def test_the_check_finds_a_module_missing_from_the_list(tmp_path: Path) -> None:
    service = tmp_path / "shop"
    (service / "handlers").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "features.py": 'FEATURES = Features("services.shop", ["orders", "notes"])\n',
        "service.py": "DEFAULTS = Defaults(FEATURES)\nOTHER = Defaults()\n",
        "orders.py": "@subscribe('order.placed')\ndef placed(envelope, uow): ...\n",
        "notes.py": "def nothing(): ...\n",
        "prices.py": "register_default('prices', dict)\n",
        "hooks.py": "@activities.on_change\ndef hook(caller, uow, before, after): ...\n",
        "api.py": "def on_change(hook):\n    return HOOKS.register(hook)\n",  # the registration API itself
        "handlers/jobs.py": "subscribe('x')(lambda e, u: None)\n",
    }
    for name, text in files.items():
        (service / name).write_text(text)
    problems = wiring_problems(service)
    assert len(problems) == 5, problems
    assert problems[0].startswith("services.shop.service:2 builds Defaults without the service's FEATURES")
    assert [p.split(" ")[0] for p in problems[1:4]] == [
        "services.shop.handlers.jobs",
        "services.shop.hooks",
        "services.shop.prices",
    ]
    assert "(on_change at line 1)" in problems[2]
    assert problems[4].startswith("services/shop/features.py lists notes, which registers nothing")


def test_the_check_finds_a_module_listed_for_the_wrong_registry(tmp_path: Path) -> None:
    service = tmp_path / "shop"
    service.mkdir()
    files = {
        "__init__.py": "",
        "features.py": 'FEATURES = Features("services.shop", events=["orders"], jobs=["orders", "sweep"])\n',
        "orders.py": "@subscribe('order.placed')\ndef placed(envelope, uow): ...\nregister_default('x', dict)\n",
        "sweep.py": "@job('sweep')\ndef sweep(job): ...\n",
    }
    for name, text in files.items():
        (service / name).write_text(text)
    assert wiring_problems(service) == [
        "services.shop.orders registers (register_default at line 3) but is not in services/shop/features.py's "
        "defaults: a function that does not happen to import it runs without these registrations",
        "services/shop/features.py lists orders as jobs, which it does not register: every function that reads "
        "that registry would load it for nothing",
    ]


# A fresh interpreter reads one registry first, having imported only what that read needs, then
# imports every module of the service and reads every registry again: both views must agree.
FRESH = r"""
import importlib, json, pkgutil, sys
service, first = sys.argv[1:3]
package = f"services.{service}"


def view():
    seen = {}
    subscriptions = importlib.import_module(f"{package}.subscriptions").REGISTRY
    seen["event types"] = sorted(subscriptions.handlers())
    seen["jobs"] = subscriptions.job_names
    seen["defaults"] = sorted(importlib.import_module(f"{package}.service").DEFAULTS.names)
    if service == "activities":
        activities = importlib.import_module("services.activities.activities")
        seen["hooks"] = [h.__module__ + "." + h.__qualname__ for h in activities._HOOKS]
        seen["batch hooks"] = [h.__module__ + "." + h.__qualname__ for h in activities._BATCH_HOOKS]
    return seen


def installed_by_ensure_tenant():
    # The setting records ensure_tenant writes for a new tenant (its writes recorded, not sent).
    import shared.service as kernel

    written = []

    class Unit:
        def save(self, item, **_):
            written.append(item)

        def commit(self):
            pass

    class Column:
        def does_not_exist(self):
            return None

    class Store:
        model = type("Model", (), {"pk": Column()})

        def get(self, *_):
            return None

        def new(self, tenant, kind, name, data):
            return (kind, name)

    kernel.UnitOfWork = Unit
    caller = type("C", (), {"tenant": "t1", "store": Store()})()
    caller.defaults = importlib.import_module(f"{package}.service").DEFAULTS
    kernel.ensure_tenant(caller)
    return sorted(name for kind, name in written if name != kernel.INSTALLED)


if first == "ensure_tenant":
    firsts = {"defaults": installed_by_ensure_tenant()}
elif first == "handlers":
    firsts = {"event types": sorted(importlib.import_module(f"{package}.subscriptions").handlers())}
elif first == "run_job":
    registry = importlib.import_module(f"{package}.subscriptions").REGISTRY
    try:
        registry.run_job({"job": "no such job"})
    except ValueError:
        pass
    firsts = {"jobs": sorted(registry._jobs)}
elif first == "hooks":
    activities = importlib.import_module("services.activities.activities")
    firsts = {"hooks": [h.__module__ + "." + h.__qualname__ for h in activities._HOOKS]}
loaded_first = sorted(m for m in sys.modules if m.startswith(package + "."))
for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
    importlib.import_module(info.name)
everything = view()
print(json.dumps({"first": firsts, "everything": {k: everything[k] for k in firsts}, "loaded": loaded_first}))
"""

FIRST_READS = [
    ("activities", "ensure_tenant"),
    ("activities", "handlers"),
    ("activities", "run_job"),
    ("activities", "hooks"),
    ("email", "ensure_tenant"),
    ("email", "handlers"),
    ("email", "run_job"),
]


@pytest.mark.parametrize(("service", "first"), FIRST_READS)
def test_the_first_read_of_a_registry_sees_every_registration(service: str, first: str) -> None:
    environment = {**os.environ, "SENDING_DOMAIN": "kontakt.test"}  # the email sender's default From
    result = subprocess.run(
        [sys.executable, "-c", FRESH, service, first],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["first"] == seen["everything"]
    assert all(seen["first"].values()), seen["first"]  # each registry has registrations to miss
    assert not any(".handlers.routes" in m for m in seen["loaded"]), "the registries loaded HTTP routes"


@pytest.mark.parametrize("service", ["activities", "email"])
def test_each_event_module_lists_the_types_it_subscribes_to(service: str) -> None:
    """A batch loads the modules listed for its events' types (`Subscriptions.handlers(types)`): a
    module subscribing to a type it does not list would miss the batches of that type."""
    import importlib

    features = importlib.import_module(f"services.{service}.features").FEATURES
    registry = importlib.import_module(f"services.{service}.subscriptions").REGISTRY
    registry.handlers()  # every module loaded
    assert features.events_of is not None
    subscribed: dict[str, set[str]] = {}
    for event_type, handles in registry._handlers.items():
        for handle in handles:
            subscribed.setdefault(handle.__module__.removeprefix(f"services.{service}."), set()).add(event_type)
    assert subscribed == {module: set(types) for module, types in features.events_of.items()}
    assert set(registry.handlers({"no.such"})) == set()
    some = next(iter(subscribed))
    one = sorted(subscribed[some])[0]
    assert list(registry.handlers({one})) == [one]
