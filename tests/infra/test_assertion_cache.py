"""tests/assertion_cache.py writes the rewritten bytecode pytest reads instead of rewriting a module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _pytest.assertion.rewrite import PYC_TAIL, _read_pyc

from tests import assertion_cache


def test_the_cache_holds_what_pytest_reads_for_each_test_module_and_conftest(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    sources = {
        "test_a.py": "def test_a():\n    values = [1]\n    assert len(values) == 2\n",
        "deep/conftest.py": "X = 1\n",
        "deep/b_test.py": "def test_b():\n    assert True\n",
        "helpers.py": "Y = 2\n",  # not a test module: pytest does not rewrite it
    }
    for name, source in sources.items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    assert assertion_cache.main([str(tmp_path)]) == 0
    for name in ("test_a.py", "deep/conftest.py", "deep/b_test.py"):
        path = tmp_path / name
        code = _read_pyc(path, path.parent / "__pycache__" / (path.stem + PYC_TAIL))
        assert code is not None, name
    assert not list(tmp_path.glob("__pycache__/helpers*"))
    assert not list(tmp_path.rglob("*.tmp"))

    module: dict[str, object] = {}
    exec(_read_pyc(tmp_path / "test_a.py", tmp_path / "__pycache__" / ("test_a" + PYC_TAIL)), module)
    with pytest.raises(AssertionError, match=re.escape("where 1 = len([1])")):  # the asserts are rewritten
        module["test_a"]()  # type: ignore[operator]

    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n", encoding="utf-8")
    stale = _read_pyc(tmp_path / "test_a.py", tmp_path / "__pycache__" / ("test_a" + PYC_TAIL))
    assert stale is None  # a source changed since is rewritten again by pytest
