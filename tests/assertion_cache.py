"""Write pytest's rewritten bytecode of every test module and conftest once, before `make test`.

pytest rewrites each test module's asserts when it imports it and keeps the result beside the
source (`__pycache__/*.cpython-311-pytest-<version>.pyc`) unless bytecode writing is off: where
PYTHONDONTWRITEBYTECODE is set (the build machines here set it), each of the three test workers,
which all collect every file, parsed, rewrote and compiled the ~270 test modules again (3.7 s of
CPU each). This writes them once; pytest reads a cached file whatever that setting (it checks the
source's hash, so a file changed since is rewritten as before). Uses pytest's own rewrite and
writer (pinned in pyproject.toml): if they change, this says so and the tests rewrite as before.

    python -m tests.assertion_cache [folder ...]   # default: tests
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def test_files(folder: Path) -> list[Path]:
    """What pytest rewrites here: its default `python_files` (test_*.py, *_test.py) and conftest.py."""
    return sorted(
        path.resolve()
        for path in folder.rglob("*.py")
        if path.name.startswith("test_") or path.name.endswith("_test.py") or path.name == "conftest.py"
    )


def main(folders: list[str]) -> int:
    try:
        from _pytest.assertion.rewrite import PYC_TAIL, _rewrite_test, _write_pyc_fp, get_cache_dir
    except ImportError as error:
        print(f"tests.assertion_cache: pytest's rewrite is not where it was ({error}); nothing written")
        return 0
    for folder in folders or ["tests"]:
        for path in test_files(Path(folder)):
            source_hash, code = _rewrite_test(path, None)  # type: ignore[arg-type]  # None: the default options
            cache = get_cache_dir(path)
            written = cache / f".{path.stem}.{os.getpid()}.tmp"
            try:
                cache.mkdir(parents=True, exist_ok=True)
                with open(written, "wb") as out:
                    _write_pyc_fp(out, source_hash, code)
                written.replace(cache / (path.name[:-3] + PYC_TAIL))  # whole or not at all, as pytest writes
            except OSError as error:  # a read-only checkout: pytest rewrites as before
                written.unlink(missing_ok=True)
                print(f"tests.assertion_cache: {path} not cached: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
