"""`kontakt new-service`: a service made from the skeleton deploys, follows the import rules and runs at once.

The skeleton is written into a copy of the project; the copy's own tests then run the new
service end to end under the local runtime, as `make test` would after the command.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import newservice
from infra.template import build_stack, translate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.heavy  # a whole project's tests in a subprocess: ~1 min
NAMES = ("notes", "quotations")  # a short and a long name: the code must be clean at any length


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
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / "tests" / "e2e").mkdir(parents=True, exist_ok=True)
    for name in ("__init__", "conftest", "helpers", "hosts", "openapi_ops"):
        name = f"tests/e2e/{name}.py"
        shutil.copy2(PROJECT_ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _copy_project(tmp_path_factory.mktemp("kontakt"))
    for name in NAMES:
        newservice.create(root, name)
    return root


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)


def test_the_new_service_deploys(project: Path) -> None:
    stack = build_stack(translate(project))
    for name in NAMES:
        for function in ("ApiFunction", "PublisherFunction", "ConsumerFunction"):
            assert f"{name.capitalize()}{function}" in stack.functions, function
        assert any(route.path.startswith(f"/{name}/") for route in stack.routes)
    linted = _run(project, str(BIN / "cfn-lint"), "template.yaml")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_new_service_is_clean_code(project: Path) -> None:
    for command in (("check",), ("format", "--check")):
        folders = [f"{top}/{name}" for name in NAMES for top in ("services", "tests/e2e")]
        result = _run(project, str(BIN / "ruff"), *command, *folders)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_new_service_runs_end_to_end_and_follows_the_import_rules(project: Path) -> None:
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
        *(f"tests/e2e/{name}" for name in NAMES),
        "tests/unit/test_import_rules.py",
        "tests/unit/test_import_graph.py",
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


def test_a_package_holding_only_its_core_is_joined_and_its_files_kept(tmp_path: Path) -> None:
    core = tmp_path / "services" / "scanner"
    (core / "domain").mkdir(parents=True)
    (core / "__init__.py").write_text('"""written first"""\n', encoding="utf-8")
    (core / "domain" / "mime.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "template.yaml").write_text("Resources: {}\n\nOutputs:\n", encoding="utf-8")
    written = newservice.create(tmp_path, "scanner")
    assert (core / "__init__.py").read_text(encoding="utf-8") == '"""written first"""\n'
    assert (core / "domain" / "mime.py").read_text(encoding="utf-8") == "X = 1\n"
    assert core / "features.py" in written and core / "__init__.py" not in written
    with pytest.raises(newservice.NewServiceError):  # now a whole service: taken
        newservice.create(tmp_path, "scanner")
