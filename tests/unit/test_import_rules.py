"""The import rules between services and the kernel (issue 13), read from the source with `ast`.

- a service imports no other service: services/<a> never imports services.<b>;
- the kernel (shared/) imports no service and not infra (the local runtime);
- a service imports no infra: what runs in Lambda is shared/ and the service's own code;
- the rules modules (services/<name>/domain/) hold rules, not data access: they import no AWS SDK
  (boto3, botocore), no pynamodb and no store module, neither themselves nor through the modules of
  the repository they import.

Nothing is imported to check them. Every import counts, also one inside a function or under
`if TYPE_CHECKING:`. A rule that the code breaks today and that its issue has not fixed yet is
listed under KNOWN with that issue: the test fails on any other breach, and on a listed one that
is gone (so the list shrinks with the code).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.sources import parse

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "infra")
DATA_ACCESS = ("boto3", "botocore", "pynamodb")

# (importing module, imported package) -> why it is allowed for now. Keep the issue number in it.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. services.email.campaigns
    line: int
    target: str  # the module or name it imports, absolute, e.g. services.email.domain.campaigns

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every import statement of one module, relative ones made absolute.

    `from a import b` yields a.b, whether b is a module or a name: the rules match by prefix.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                yield Import(module, node.lineno, f"{origin}.{alias.name}")


def scan(root: Path) -> dict[str, list[Import]]:
    """Module name -> its imports, for every .py file of the repository's packages under root."""
    found: dict[str, list[Import]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = module_name(path, root)
            source = path.read_text(encoding="utf-8")
            found[name] = list(imports_of(source, name, is_package=path.name == "__init__.py"))
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def service_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else None


def is_rules_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "services" and len(parts) > 2 and parts[2] == "domain"


def is_data_access(target: str) -> bool:
    """An AWS SDK, pynamodb, or a store module (shared.store, services.<name>.store)."""
    return any(within(target, package) for package in DATA_ACCESS) or "store" in target.split(".")[:3]


def breaches(modules: Mapping[str, list[Import]]) -> dict[str, list[Import]]:
    """Rule -> the imports that break it."""
    found: dict[str, list[Import]] = {
        "service imports another service": [],
        "shared imports a service or infra": [],
        "service imports infra": [],
        "rules module imports data access": [],
    }
    for module, imports in modules.items():
        for imp in imports:
            service = service_of(module)
            if service and within(imp.target, "services") and service_of(imp.target) not in (None, service):
                found["service imports another service"].append(imp)
            if within(module, "shared") and (within(imp.target, "services") or within(imp.target, "infra")):
                found["shared imports a service or infra"].append(imp)
            if service and within(imp.target, "infra"):
                found["service imports infra"].append(imp)
    found["rules module imports data access"] = data_access_reached_by_rules(modules)
    return found


def data_access_reached_by_rules(modules: Mapping[str, list[Import]]) -> list[Import]:
    """The imports of data access that a rules module makes itself or through the repository's modules.

    Each breach is the import that loads the data access (in the rules module or in a kernel module it
    imports), once, however many rules modules reach it.
    """
    seen: set[str] = set()
    found: dict[Import, None] = {}
    todo = [module for module in modules if is_rules_module(module)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for imp in modules.get(module, []):
            if is_data_access(imp.target):
                found[imp] = None
            else:  # importing a.b.c runs a, a.b and a.b.c (the last may be a name in a.b)
                parts = imp.target.split(".")
                todo.extend(name for name in (".".join(parts[:n]) for n in range(1, len(parts) + 1)) if name in modules)
    return list(found)


def known(imp: Import) -> bool:
    return any(imp.module == module and within(imp.target, package) for module, package in KNOWN)


def report(imports: Iterable[Import]) -> str:
    return "\n".join(str(imp) for imp in imports)


@cache
def repository() -> dict[str, list[Import]]:
    return scan(ROOT)


def test_the_scan_reads_every_package() -> None:
    modules = repository()
    for package in ("shared", "services.activities", "services.directory", "services.email", "infra"):
        assert any(within(module, package) for module in modules), f"no module of {package} was read"
    assert any(is_rules_module(module) for module in modules)
    assert sum(len(imports) for imports in modules.values()) > 1000


@pytest.mark.parametrize(
    "rule",
    [
        "service imports another service",
        "shared imports a service or infra",
        "service imports infra",
        "rules module imports data access",
    ],
)
def test_import_rule_holds(rule: str) -> None:
    new = [imp for imp in breaches(repository())[rule] if not known(imp)]
    assert not new, f"{rule} (the rules: tests/unit/test_import_rules.py):\n{report(new)}"


def test_every_known_exception_still_happens() -> None:
    """A fixed exception leaves KNOWN, so that it cannot come back unnoticed."""
    happening = [imp for found in breaches(repository()).values() for imp in found]
    gone = sorted(
        (module, package)
        for module, package in KNOWN
        if not any(imp.module == module and within(imp.target, package) for imp in happening)
    )
    assert not gone, f"no longer imported, remove from KNOWN: {gone}"


# The checker itself, on a small tree of made-up modules: it sees each kind of breach.


def write(root: Path, files: Mapping[str, str]) -> None:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def test_the_checker_sees_each_kind_of_breach(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "shared/__init__.py": "",
            "shared/store.py": "import pynamodb.models\n",
            "shared/pure.py": "from shared import store\n",
            "shared/api.py": "def load():\n    from services.email import campaigns\n",
            "shared/dev.py": "import infra.runtime\n",
            "services/__init__.py": "",
            "services/email/__init__.py": "",
            "services/email/campaigns.py": "from ..directory import store\nfrom . import store as own\n",
            "services/email/domain/__init__.py": "",
            "services/email/domain/rules.py": "from shared import pure\nfrom . import other\n",
            "services/email/domain/other.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import boto3\n",
            "services/email/handlers/api.py": "from infra import gateway\n",
            "services/directory/__init__.py": "",
            "services/directory/store.py": "from services import email\n",
            "infra/__init__.py": "import services.email\n",
        },
    )
    found = {rule: sorted(str(imp) for imp in imports) for rule, imports in breaches(scan(tmp_path)).items()}
    assert found == {
        "service imports another service": [
            "services.directory.store:1 imports services.email",
            "services.email.campaigns:1 imports services.directory.store",
        ],
        "shared imports a service or infra": [
            "shared.api:2 imports services.email.campaigns",
            "shared.dev:1 imports infra.runtime",
        ],
        "service imports infra": [
            "services.email.handlers.api:1 imports infra.gateway",
        ],
        "rules module imports data access": [
            "services.email.domain.other:3 imports boto3",
            "shared.pure:1 imports shared.store",
        ],
    }
