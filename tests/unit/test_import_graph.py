"""The import graph of the project's modules (shared, services, infra), read from the source.

- No import cycle. Every import counts, wherever it is written: an import inside a function is how
  a cycle is usually hidden (`proofs` imported the sender inside `record`, the sender imported
  `proofs`), and it still makes the two modules one unit that cannot be read, tested or loaded
  apart. Imports inside functions stay allowed for what they are good for (lazy loading of a CLI
  command, of a heavy library), as long as they close no cycle.
- No module uses another module's private name (`from x import _name`, `x._name`, `X._name` of a
  class `X` imported from another module): a name used across modules is public, or it moves to
  where both can use it. (A private attribute of an object is not seen: its type is not known here.)
Dynamic imports (`importlib.import_module`) are not seen.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from tests.sources import parse

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "infra")


def project_modules(root: Path) -> dict[str, Path]:
    """Module name -> its file, for every module of the packages under root."""
    found = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = project_modules(ROOT)


def _owner(name: str, modules: Mapping[str, Path] = MODULES) -> str | None:
    """The project module that defines `name` (a module, or a name in one); None: not ours."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _source(module: str, node: ast.ImportFrom, modules: Mapping[str, Path] = MODULES) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if modules[module].name == "__init__.py" else base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _imports(
    module: str, tree: ast.Module, modules: Mapping[str, Path] = MODULES
) -> Iterator[tuple[str, str | None, int]]:
    """(imported project module, the name taken from it or None, line) of every import in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _owner(alias.name, modules)
                if target:
                    yield target, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _source(module, node, modules)
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    yield f"{source}.{alias.name}", None, node.lineno
                elif (target := _owner(source, modules)) is not None:
                    yield target, alias.name, node.lineno


def _imported_names(module: str, tree: ast.Module, modules: Mapping[str, Path] = MODULES) -> dict[str, str]:
    """Local names bound to project modules or to names of theirs (`from services.email import
    proofs`, `from shared.store import TableItem`, `import x.y as z`)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _source(module, node, modules)
            for alias in node.names:
                if _owner(f"{source}.{alias.name}", modules) is not None:
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in modules:
                    aliases[alias.asname] = alias.name
    return aliases


@cache
def trees() -> dict[str, ast.Module]:
    """Every module's syntax tree: read when a test asks, not at collection (every test worker
    collects every file; this one's parse cost each of them about 3 s of CPU)."""
    return {module: parse(path.read_text(), str(path)) for module, path in MODULES.items()}


def import_graph(trees: Mapping[str, ast.Module], modules: Mapping[str, Path] = MODULES) -> dict[str, set[str]]:
    """Module -> the project modules it imports, of the modules in `trees`."""
    return {module: {t for t, _, _ in _imports(module, tree, modules) if t != module} for module, tree in trees.items()}


@cache
def graph() -> dict[str, set[str]]:
    return import_graph(trees())


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions() -> None:
    assert "infra.template" in graph()["infra.auth"]  # imported inside a function there
    assert "services.email.proofs" in graph()["services.email.sending"]


def test_no_import_cycle() -> None:
    assert cycles(graph()) == [], "modules that import each other (directly or around a cycle)"


def test_no_module_imports_another_modules_private_name() -> None:
    assert private_name_uses(trees()) == []


def private_name_uses(trees: Mapping[str, ast.Module], modules: Mapping[str, Path] = MODULES) -> list[str]:
    """Where a module of `trees` takes or uses another module's private name."""
    private = []
    for module, tree in trees.items():
        for target, name, line in _imports(module, tree, modules):
            if target != module and name and name.startswith("_") and not name.startswith("__"):
                private.append(f"{module}:{line} imports {target}.{name}")
        aliases = _imported_names(module, tree, modules)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                private.append(f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return private


def test_the_private_name_check_sees_an_import_and_a_use() -> None:
    modules = {"pkg": Path("pkg/__init__.py"), "pkg.a": Path("pkg/a.py"), "pkg.b": Path("pkg/b.py")}
    source = "from pkg.b import _hidden, shown\nfrom . import b\nimport pkg.b as other\nb._x()\nother._y\nshown._z\n"
    found = sorted(private_name_uses({"pkg.a": parse(source)}, modules))
    assert found == [
        "pkg.a:1 imports pkg.b._hidden",
        "pkg.a:4 uses pkg.b._x",
        "pkg.a:5 uses pkg.b._y",
        "pkg.a:6 uses pkg.b.shown._z",
    ]
    assert import_graph({"pkg.a": parse(source)}, modules) == {"pkg.a": {"pkg.b"}}
