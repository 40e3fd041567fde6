"""`make build`'s output as Lambda loads it: every handler of template.yaml imports from its own code
artifact plus the locked dependencies, the layer holds exactly the lock as CPython 3.12 arm64 wheels,
and an artifact holds its service, shared/ and the merged OpenAPI document, nothing else.

The build runs once for the module into a temporary folder (wheels come from PyPI through pip's cache).
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name

from infra import build
from infra.functions import worker_spec
from infra.template import Function, build_stack, translate

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / build.LOCK_FILE
pytestmark = pytest.mark.heavy  # a build and a fresh interpreter per artifact: ~20 s of one worker

# The wheel tags `pip install --platform manylinux2014_aarch64 --python-version 3.12` accepts.
_PLATFORMS = ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
LAMBDA_TAGS = {str(t) for t in cpython_tags((3, 12), abis=["cp312"], platforms=_PLATFORMS)} | {
    str(t) for t in compatible_tags((3, 12), "cp312", _PLATFORMS)
}
IMPORTS_AT_ONCE = 3  # fresh interpreters importing handlers side by side (each mostly CPU)
# What runs only on a laptop or in the tests: never deployed.
DEV_ONLY = {"moto", "pytest", "flask", "flask-cors", "werkzeug", "aws-sam-translator", "cfn-lint", "kontakt"}

# Imports the handlers of an artifact's functions in a clean interpreter (-I -S: no venv, no
# site-packages, no cwd) whose path is the artifact, then the dependencies, as Lambda puts /var/task
# before /opt/python. Each handler is tried, and each failure printed.
IMPORT_HANDLERS = """
import importlib, sys, traceback
artifact, dependencies, *handlers = sys.argv[1:]
sys.path[:0] = [artifact, dependencies]
failed = 0
for handler in handlers:
    module, _, name = handler.rpartition(".")
    try:
        if not callable(getattr(importlib.import_module(module), name)):
            raise TypeError(f"{handler} is not callable")
    except Exception:
        failed += 1
        print(f"{handler}:", traceback.format_exc(), file=sys.stderr)
sys.exit(failed)
"""


@dataclass
class Built:
    out: Path  # the project's build/ folder, built here
    host_dependencies: Path  # the lock installed for this machine: the layer's stand-in
    pycache: Path  # bytecode of the imports, kept out of the artifacts and shared by the test's processes
    sizes: list[build.Size]
    seconds: float

    @property
    def layer(self) -> Path:
        return self.out / build.LAYER / "python"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("build")
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:  # two pip runs, mostly waiting on downloads and disk: side by side
        host = pool.submit(build.install_for_host, LOCK, folder / "host")
        sizes = build.build(ROOT, folder / build.BUILD_DIR, zip_layer=False)  # code artifacts zipped only
        host.result()
    result = Built(folder / build.BUILD_DIR, folder / "host", folder / "pycache", sizes, time.monotonic() - started)
    print(f"\nbuilt in {result.seconds:.1f} s\n{build.render_sizes(sizes)}")
    yield result


@pytest.fixture(scope="module")
def functions() -> list[tuple[Function, str]]:
    """Every function of template.yaml with its CodeUri as the template writes it."""
    template = translate(ROOT)
    stack = build_stack(template)
    return [(f, template.code_dirs[f.logical_id]) for f in stack.functions.values()]


# ---------------------------------------------------------------- the lock (no network)


def test_lock_pins_every_runtime_dependency_within_pyproject_specifiers() -> None:
    assert build.stale_lock(ROOT) == [], "run `make lock`"
    pins = build.read_lock(LOCK)
    for requirement in build.runtime_requirements(ROOT):
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)], prereleases=True)


def test_build_refuses_a_lock_that_pyproject_has_moved_past(tmp_path: Path) -> None:
    pins = build.read_lock(LOCK)
    dependencies = [f"jinja2=={pins['jinja2']}", "pydantic>=99", "humanize>=4"]
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\ndependencies = {dependencies!r}\n')
    (tmp_path / build.LOCK_FILE).parent.mkdir()
    (tmp_path / build.LOCK_FILE).write_text(LOCK.read_text())
    assert build.stale_lock(tmp_path) == [
        f"{build.LOCK_FILE} pins pydantic=={pins['pydantic']}, pyproject.toml wants pydantic>=99",
        f"humanize is in pyproject.toml but not in {build.LOCK_FILE}",
    ]
    with pytest.raises(build.BuildError, match="make lock"):
        build.build(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_venv_runs_the_versions_that_deploy() -> None:
    """make installs the venv with the lock as constraints: the tests run what Lambda runs."""
    installed = {name: version(name) for name in build.read_lock(LOCK)}
    assert installed == build.read_lock(LOCK), "the venv is older than the lock: `touch pyproject.toml` and make"


def test_lock_leaves_out_the_local_runtime_and_the_test_tools() -> None:
    assert not DEV_ONLY & set(build.read_lock(LOCK))


def test_closure_names_what_the_target_markers_need_and_pip_left_out() -> None:
    requirements = [Requirement("parent")]
    resolved = {"parent": {"version": "1", "requires_dist": ['child ; python_version >= "3.12"']}}
    with pytest.raises(build.BuildError, match="child"):
        build.closure(requirements, resolved)


def test_closure_follows_requested_extras_and_notes_what_only_this_machine_needs() -> None:
    requirements = [Requirement("parent[x]")]
    here_only = f'python_full_version == "{platform.python_version()}"'  # not the target's 3.12.0
    resolved = {
        "parent": {
            "version": "1",
            "requires_dist": ['child ; extra == "x"', 'unasked ; extra == "y"', f"old ; {here_only}"],
        },
        "child": {"version": "2", "requires_dist": []},
        "unasked": {"version": "3", "requires_dist": []},
        "old": {"version": "4", "requires_dist": []},
    }
    pins = {p.name: p.via for p in build.closure(requirements, resolved)}
    assert pins == {"parent": ("pyproject.toml",), "child": ("parent",), "old": ("(this machine only)", "parent")}


def test_local_runtime_runs_built_functions_from_the_source_tree(functions: list[tuple[Function, str]]) -> None:
    for function, code_uri in functions:
        assert Path(code_uri).parts[0] == build.BUILD_DIR, f"{function.logical_id}: CodeUri {code_uri} is not built"
        assert function.code_dir == "."


# ---------------------------------------------------------------- the build


def test_every_handler_imports_from_its_artifact_and_the_locked_dependencies(
    built: Built, functions: list[tuple[Function, str]]
) -> None:
    """One interpreter per artifact imports the handlers of all its functions: that the artifact and
    the layer hold what each handler imports does not depend on the others imported before it
    (the same files either way). What could, a cycle that imports in one order only, is
    tests/unit/test_function_imports.py's: a fresh interpreter per handler module."""
    by_artifact: dict[str, list[Function]] = {}
    for function, code_uri in functions:
        by_artifact.setdefault(code_uri, []).append(function)

    def imported(code_uri: str) -> str | None:
        group = by_artifact[code_uri]
        artifact = built.out / Path(code_uri).relative_to(build.BUILD_DIR)
        if not artifact.is_dir():
            return f"CodeUri {code_uri} ({', '.join(f.logical_id for f in group)}) is not built"
        clean = [sys.executable, "-I", "-S", "-X", f"pycache_prefix={built.pycache}"]
        handlers = sorted({f.handler for f in group})
        result = subprocess.run(
            [*clean, "-c", IMPORT_HANDLERS, str(artifact), str(built.host_dependencies), *handlers],
            cwd=artifact,
            env=common_environment(group, artifact),
            capture_output=True,
            text=True,
            timeout=120,
        )
        return f"from {code_uri}:\n{result.stderr[-4000:]}" if result.returncode != 0 else None

    first, *others = sorted(by_artifact)
    found = [imported(first)]  # alone: it compiles the dependencies' bytecode the others then read
    with ThreadPoolExecutor(IMPORTS_AT_ONCE) as pool:  # each a fresh interpreter: several at once
        found += pool.map(imported, others)
    failures = [f for f in found if f is not None]
    assert not failures, "\n\n".join(failures)


def common_environment(group: list[Function], artifact: Path) -> dict[str, str]:
    """What the functions of one artifact all have in their environment (the first one's values), traced
    as in AWS. Their imports read no variable of their own (a table, a queue: read at the first call,
    shared.settings), only Lambda's and Powertools' (POWERTOOLS_SERVICE_NAME: a name). One that came
    to need its own at import would fail here, not pass on another function's."""
    environments = [dict(worker_spec(f, ROOT, "http://127.0.0.1:9").environment) for f in group]
    environment = {k: v for k, v in environments[0].items() if all(k in e for e in environments)}
    environment.pop("POWERTOOLS_TRACE_DISABLED")  # traced as in AWS: the X-Ray SDK must import too
    environment["LAMBDA_TASK_ROOT"] = str(artifact)
    return environment


def test_layer_holds_exactly_the_locked_distributions(built: Built) -> None:
    in_layer = build.installed(built.layer)
    assert {name: d["version"] for name, d in in_layer.items()} == build.read_lock(LOCK)
    # Complete: everything pyproject.toml's dependencies require on Lambda, by the wheels' own metadata.
    needed = build.closure(build.runtime_requirements(ROOT), in_layer)
    assert {p.name for p in needed} == set(in_layer)
    assert (built.layer / "pydantic_core").is_dir()


def test_layer_wheels_are_built_for_cpython_3_12_on_arm64(built: Built) -> None:
    compiled = []
    for dist_info in sorted(built.layer.glob("*.dist-info")):
        fields = [line.split(":", 1) for line in (dist_info / "WHEEL").read_text().splitlines() if ":" in line]
        tags = {value.strip() for key, value in fields if key == "Tag"}
        assert tags & LAMBDA_TAGS, f"{dist_info.name}: tags {sorted(tags)} do not load on Lambda python3.12 arm64"
        if ("Root-Is-Purelib", " false") in [(k, v.rstrip()) for k, v in fields]:
            compiled.append(dist_info.name)
            # CPython 3.12's own ABI, or the stable ABI (abi3: cryptography's cp311-abi3 loads on 3.12).
            assert all("aarch64" in tag and (tag.startswith("cp312-") or "-abi3-" in tag) for tag in tags), (
                dist_info.name,
                tags,
            )
    assert any(name.startswith("pydantic_core-") for name in compiled), compiled
    assert not list(built.layer.rglob("*.pyc")), "bytecode compiled for this machine's interpreter"


def test_artifacts_hold_their_service_and_shared_only(built: Built) -> None:
    services = build.services(ROOT)
    for artifact in sorted(p for p in built.out.iterdir() if p.name != build.LAYER):
        files = {p.relative_to(artifact).as_posix() for p in artifact.rglob("*") if p.is_file()}
        service = artifact.name if artifact.name in services else None
        assert files == _source_files(service), artifact.name
        project_files = files - {build.API_DOCUMENT.as_posix()}  # the one document an API serves
        assert not any(part in {"tests", "infra", "docs"} for f in project_files for part in f.split("/")), (
            artifact.name
        )
        others = {f.split("/")[1] for f in files if f.startswith("services/") and f != "services/__init__.py"}
        assert others <= {service}, f"{artifact.name} holds other services: {others}"


def test_sizes_fit_lambda(built: Built) -> None:
    sizes = {s.name: s for s in built.sizes}
    assert set(sizes) == {build.LAYER, build.SHARED_ONLY, *build.services(ROOT)}
    layer = sizes.pop(build.LAYER)
    for size in sizes.values():
        assert 0 < size.zipped < size.unzipped
        assert size.unzipped + layer.unzipped < build.LAMBDA_UNZIPPED_LIMIT, size.name


def _source_files(service: str | None) -> set[str]:
    folders = ["shared"] + ([f"services/{service}"] if service else [])
    files = {"services/__init__.py", build.API_DOCUMENT.as_posix()} if service else set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(path.relative_to(ROOT).as_posix())
    return files
