"""One way to mount a service's routes, read from the source; every route under its module's prefixes.

Each service's `handlers/routes/__init__.py` names its feature route modules once, with the path
prefixes each serves (`ROUTERS`, a `shared.api.RouteModules`), and its `handlers/api.py` hands that
list to the kernel's `shared.api.create_app`, which mounts a module by the first request under one
of its prefixes and serves the OpenAPI document. A route module not in the list would answer 404
and be missing from the document: the check fails on it, and on an API that mounts routers its own
way. A route outside its module's prefixes would answer 404 until another request happened to
mount its module: the second check imports every module and fails on it.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from shared.api import RouteModules
from tests.sources import parse

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[2]


def mounting_problems(service: Path) -> list[str]:
    routes = service / "handlers" / "routes"
    init = routes / "__init__.py"
    named: set[str] = set()
    for node in ast.walk(parse(init.read_text(), str(init))):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ROUTERS" for t in node.targets):
            value = node.value
            assert isinstance(value, ast.Call) and len(value.args) == 2, (
                f"{init}: ROUTERS = RouteModules(package, {{...}})"
            )
            assert isinstance(value.args[1], ast.Dict), f"{init}: RouteModules names its modules in a literal dict"
            named.update(str(ast.literal_eval(key)) for key in value.args[1].keys if key is not None)
    problems = []
    for path in sorted(routes.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = parse(path.read_text(), str(path))
        defines = any(
            isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "router" for t in node.targets)
            for node in tree.body
        )
        if defines and path.stem not in named:
            problems.append(f"services.{service.name}: the router of handlers/routes/{path.name} is not in ROUTERS")
    api = service / "handlers" / "api.py"
    calls = [
        node
        for node in ast.walk(parse(api.read_text(), str(api)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "create_app"
    ]
    mounted = [c for c in calls if any(isinstance(a, ast.Name) and a.id == "ROUTERS" for a in c.args)]
    if len(mounted) != 1:
        problems.append(
            f"services.{service.name}: handlers/api.py does not build its app with create_app(..., ROUTERS)"
        )
    return problems


def services_with_routes() -> list[Path]:
    return sorted(p for p in (ROOT / "services").iterdir() if (p / "handlers" / "routes" / "__init__.py").exists())


@pytest.mark.parametrize("service", services_with_routes(), ids=lambda p: p.name)
def test_every_router_is_named_once_and_mounted_by_the_kernel(service: Path) -> None:
    assert mounting_problems(service) == []


def test_the_check_finds_a_router_left_out(tmp_path: Path) -> None:
    service = tmp_path / "shop"
    (service / "handlers" / "routes").mkdir(parents=True)
    (service / "handlers" / "routes" / "__init__.py").write_text(
        "ROUTERS = RouteModules('services.shop.handlers.routes', {'orders': ('/orders',)})\n"
    )
    (service / "handlers" / "routes" / "orders.py").write_text("router = APIGatewayHttpRouter()\n")
    (service / "handlers" / "routes" / "notes.py").write_text("router = APIGatewayHttpRouter()\n")
    (service / "handlers" / "api.py").write_text(
        "app = http.create_app('Shop', 'shop')\nfor r in discovered():\n    app.include_router(r)\n"
    )
    assert mounting_problems(service) == [
        "services.shop: the router of handlers/routes/notes.py is not in ROUTERS",
        "services.shop: handlers/api.py does not build its app with create_app(..., ROUTERS)",
    ]


def routes_outside_prefixes(service: str) -> list[str]:
    """Each route of a module that does not start with one of the module's prefixes, and each
    prefix that is not literal or serves none of its routes."""
    routers: RouteModules = importlib.import_module(f"services.{service}.handlers.routes").ROUTERS
    problems = []
    for name, prefixes in routers.prefixes.items():
        paths = sorted({rule for rule, *_ in routers.router(name)._routes})
        for prefix in prefixes:
            if any(part.startswith(("{", "<")) for part in prefix):
                problems.append(f"{service}.{name}: the prefix /{'/'.join(prefix)} is not literal")
            elif not any(routers.serving(path) and name in routers.serving(path) for path in paths):
                problems.append(f"{service}.{name}: no route under /{'/'.join(prefix)}")
        for path in paths:
            parts = [p for p in path.split("/") if p]
            if not any(tuple(parts[: len(p)]) == p for p in prefixes):
                problems.append(f"{service}.{name}: {path} is outside its prefixes")
    return problems


@pytest.mark.parametrize("service", [p.name for p in services_with_routes()])
def test_every_route_is_under_its_module_prefixes(service: str) -> None:
    assert routes_outside_prefixes(service) == []


def test_a_request_mounts_the_modules_of_its_prefix_and_the_document_every_one() -> None:
    from shared import api as http

    routers = RouteModules(
        "services.activities.handlers.routes",
        {"goals": ("/goals", "/point-rules"), "order_settings": ("/contact-orders/settings",)}
        | {"contact_orders": ("/contact-orders",), "mass": ("/mass-activities",)},
    )
    app = http.create_app("Lazy", "lazy", routers)
    assert routers.serving("/point-rules") == ["goals"]
    assert routers.serving("/contact-orders/x") == ["order_settings", "contact_orders"]  # nested: together
    assert routers.serving("/unknown") == []
    app.mount("/goals/2026")
    mounted = {route.rule.pattern for route in (*app._static_routes, *app._dynamic_routes)}
    assert any("point-rules" in rule for rule in mounted) and not any("mass-activities" in rule for rule in mounted)
    document = json.loads(app.get_openapi_json_schema())
    assert {"/mass-activities", "/contact-orders/settings", "/point-rules"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_the_check_finds_a_route_outside_its_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    routers = importlib.import_module("services.directory.handlers.routes").ROUTERS
    monkeypatch.setitem(routers.prefixes, "search", (("searches",),))
    assert routes_outside_prefixes("directory") == [
        "directory.search: no route under /searches",
        "directory.search: /search is outside its prefixes",
    ]
