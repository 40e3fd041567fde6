"""One way to mount a service's routes, read from the source.

Each service's `handlers/routes/__init__.py` names its feature routers once (`ROUTERS`), and its
`handlers/api.py` hands that list to the kernel's `shared.api.create_app`, which mounts them and
serves the OpenAPI document. A route module whose router is not in the list would answer 404 and
be missing from the document: the check fails on it, and on an API that mounts routers its own way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.sources import parse

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[2]


def mounting_problems(service: Path) -> list[str]:
    routes = service / "handlers" / "routes"
    init = routes / "__init__.py"
    named: set[str] = set()
    for node in ast.walk(parse(init.read_text(), str(init))):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ROUTERS" for t in node.targets):
            assert isinstance(node.value, (ast.Tuple, ast.List)), f"{init}: ROUTERS is a literal tuple"
            for item in node.value.elts:
                if isinstance(item, ast.Attribute) and item.attr == "router" and isinstance(item.value, ast.Name):
                    named.add(item.value.id)
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
        "from services.shop.handlers.routes import orders\nROUTERS = (orders.router,)\n"
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
