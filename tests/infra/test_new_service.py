"""`kontakt new-service`: a service made from the skeleton deploys, follows the import rules and runs at once.

The skeleton is written into a copy of the project; the copy's own tests then run the new
service end to end under the local runtime, as `make test` would after the command. One service
runs (the long name); a second copy holds two, a short and a long name, for what depends on the
name or on another generated service beside it: clean code at any length, a valid template.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode_str

from infra import newservice
from infra.template import build_stack, translate
from tests.infra.test_template import STACK_RESOURCES
from tests.sources import parse
from tests.unit import test_import_graph, test_import_rules

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.heavy  # a whole project's tests in a subprocess: ~1 min
NAMES = ("notes", "quotations")  # a short and a long name: the code must be clean at any length
RUNS = "quotations"  # the one that runs end to end
# What a service of the skeleton's shape adds to the stack (after the SAM transform): the stack's
# 500 resources must leave room for the services planned (docs/decisions.md 2026-12-05).
SERVICE_RESOURCES = 21


def _copy_project(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = PROJECT_ROOT / name
        if source.is_file() and not name.startswith(("docs/", "tests/e2e/", "tests/perf/")):
            _copy_file(name, target)
    for name in ("__init__", "conftest", "helpers", "hosts", "openapi_ops"):
        _copy_file(f"tests/e2e/{name}.py", target)
    return target


def _copy_file(name: str, target: Path) -> None:
    """A file of the project, and the bytecode `make test` compiled of it (its time and size kept, so
    it stays valid): the copy's test process and its function workers read it rather than compile
    every module again (~1 CPU s; they never write any: PYTHONDONTWRITEBYTECODE, `python -B`)."""
    copy = target / name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(PROJECT_ROOT / name, copy)
    compiled = Path(importlib.util.cache_from_source(str(PROJECT_ROOT / name))) if copy.suffix == ".py" else None
    if compiled is not None and compiled.is_file():
        (copy.parent / "__pycache__").mkdir(exist_ok=True)
        shutil.copy2(compiled, copy.parent / "__pycache__" / compiled.name)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _copy_project(tmp_path_factory.mktemp("kontakt"))
    newservice.create(root, RUNS)
    return root


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _copy_project(tmp_path_factory.mktemp("kontakt-two"))
    for name in NAMES:
        newservice.create(root, name)
    return root


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)


def test_the_new_service_deploys(project: Path) -> None:
    template = translate(project)
    stack = build_stack(template)
    for function in ("ApiFunction", "PublisherFunction", "ConsumerFunction"):
        assert f"{RUNS.capitalize()}{function}" in stack.functions, function
    assert any(route.path.startswith(f"/{RUNS}/") for route in stack.routes)
    assert len(template.resources) <= STACK_RESOURCES  # cfn-lint does not count the transform's
    added = set(template.resources) - set(translate(PROJECT_ROOT).resources)
    assert len(added) <= SERVICE_RESOURCES, sorted(added)


def test_two_new_services_make_a_valid_template(two: Path) -> None:
    """cfn-lint on what the services added and what that references: the rest is the project's
    template unchanged, which `make lint` lints (cfn-lint's time goes by resource)."""
    added = _lint_template(two, PROJECT_ROOT)
    assert {name.capitalize() + "Table" for name in NAMES} <= added
    # In this process, as the `cfn-lint` command lints (its exit code is 0 only without any match):
    # a process of its own spent ~1.5 s of its ~3.4 CPU s importing cfn-lint and loading its rules.
    matches = lint_file(two / "added.json")
    assert matches == [], "\n".join(str(m) for m in matches)


def test_the_new_service_is_clean_code(two: Path) -> None:
    for command in (("check",), ("format", "--check")):
        folders = [f"{top}/{name}" for name in NAMES for top in ("services", "tests/e2e")]
        result = _run(two, str(BIN / "ruff"), *command, *folders)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_new_service_follows_the_import_rules(project: Path) -> None:
    """The copy's import rules, and the new service's import graph: the rest of the copy is the
    project's own, which tests/unit/test_import_graph.py checks (parsing all of it again took 4 s)."""
    imports = test_import_rules.scan(project)
    service = f"services.{RUNS}"
    assert any(test_import_rules.within(module, service) for module in imports)
    broken = {rule: found for rule, found in test_import_rules.breaches(imports).items() if found}
    assert not broken, broken
    # Nothing outside the service imports it (the rules): a cycle through it lies within it.
    outside = [i for m, found in imports.items() if not test_import_rules.within(m, service) for i in found]
    assert not [str(i) for i in outside if test_import_rules.within(i.target, service)]
    modules = test_import_graph.project_modules(project)
    trees = {
        module: parse(path.read_text(encoding="utf-8"), str(path))
        for module, path in modules.items()
        if test_import_rules.within(module, service)
    }
    graph = test_import_graph.import_graph(trees, modules)
    assert any(graph.values()), graph  # the service's modules import each other and the kernel
    assert test_import_graph.cycles(graph) == []
    assert test_import_graph.private_name_uses(trees, modules) == []


def test_the_new_service_runs_end_to_end_and_documents_its_operations(project: Path) -> None:
    result = _run(
        project,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        f"tests/e2e/{RUNS}",
        "tests/unit/test_operation_docs.py",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


@pytest.mark.parametrize("name", ["Notes", "n", "notes-2", "a" * 21, "email"])
def test_a_bad_or_taken_name_is_refused_and_writes_nothing(tmp_path: Path, name: str) -> None:
    (tmp_path / "services" / "email").mkdir(parents=True)
    (tmp_path / "template.yaml").write_text("Resources: {}\n\nOutputs:\n", encoding="utf-8")
    with pytest.raises(newservice.NewServiceError):
        newservice.create(tmp_path, name)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["email", "services", "template.yaml"]


def test_a_template_whose_api_paths_have_no_end_line_is_refused_and_nothing_written(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n\nOutputs:\n", encoding="utf-8")
    with pytest.raises(newservice.NewServiceError, match="HttpApi paths"):
        newservice.create(tmp_path, "notes")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["template.yaml"]


def test_a_package_holding_only_its_core_is_joined_and_its_files_kept(tmp_path: Path) -> None:
    core = tmp_path / "services" / "scanner"
    (core / "domain").mkdir(parents=True)
    (core / "__init__.py").write_text('"""written first"""\n', encoding="utf-8")
    (core / "domain" / "mime.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "template.yaml").write_text(f"Resources: {{}}\n{newservice.ROUTES_END}\nOutputs:\n", encoding="utf-8")
    written = newservice.create(tmp_path, "scanner")
    assert (core / "__init__.py").read_text(encoding="utf-8") == '"""written first"""\n'
    assert (core / "domain" / "mime.py").read_text(encoding="utf-8") == "X = 1\n"
    assert core / "features.py" in written and core / "__init__.py" not in written
    with pytest.raises(newservice.NewServiceError):  # now a whole service: taken
        newservice.create(tmp_path, "scanner")


def _lint_template(root: Path, original: Path) -> set[str]:
    """Write root/added.json: root's template.yaml with the resources it has beyond the original's,
    those they reference (and Globals does), and the conditions these use. Returns the added ones."""
    template, problems = decode_str((root / "template.yaml").read_text(encoding="utf-8"))
    assert not problems, problems  # duplicate keys, YAML errors
    before, _ = decode_str((original / "template.yaml").read_text(encoding="utf-8"))
    resources: dict[str, Any] = template["Resources"]
    added = set(resources) - set(before["Resources"])
    keep: set[str] = set()
    todo = [*added, *_references(template.get("Globals", {}))]
    while todo:
        name = todo.pop()
        if name in resources and name not in keep:
            keep.add(name)
            todo += _references(resources[name])
    conditions = template.get("Conditions", {})
    used = {used for name in keep for used in _conditions(resources[name])}
    used |= set(_conditions(template.get("Globals", {})))
    todo = list(used)
    while todo:
        used |= (more := set(_conditions(conditions.get(todo.pop(), {}))) - used)
        todo += more
    cut = {key: value for key, value in template.items() if key != "Outputs"}
    cut["Resources"] = {name: resources[name] for name in resources if name in keep}
    cut["Conditions"] = {name: conditions[name] for name in conditions if name in used}
    (root / "added.json").write_text(json.dumps(cut, indent=1), encoding="utf-8")
    return added


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _references(value: Any) -> list[str]:
    """The resources and parameters a template fragment names (Ref, GetAtt, Sub, DependsOn)."""
    found = []
    for key, item in _walk(value):
        if key == "Ref" and isinstance(item, str):
            found.append(item)
        elif key == "Fn::GetAtt":
            found.append(item[0] if isinstance(item, list) else item.split(".")[0])
        elif key == "Fn::Sub":
            text = item if isinstance(item, str) else item[0]
            found += [name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)]
        elif key == "DependsOn":
            found += [item] if isinstance(item, str) else item
    return found


def _conditions(value: Any) -> list[str]:
    """The conditions a fragment uses: a resource's Condition, Fn::If, a condition's {"Condition": name}."""
    found = []
    for key, item in _walk(value):
        if key == "Fn::If":
            found.append(item[0])
        elif key == "Condition" and isinstance(item, str):
            found.append(item)
    return found
