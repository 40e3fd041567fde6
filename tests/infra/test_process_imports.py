"""What a spawned process of the local runtime imports before its own work: a function worker
imports infra.functions (to unpickle its entry point), and every spawned process imports the main
module again (multiprocessing's spawn), which under `kontakt dev` is infra.cli. Whatever those two
import is paid again by every cold start of every function; the template reader (infra.build with
packaging, ~0.07 s) and boto3 (~0.17 s) are not needed there (docs/decisions.md, the test suite's
budget, third pass)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_NEEDED = ("infra.template", "infra.build", "infra.runtime", "packaging", "boto3", "botocore", "moto")


def _imported(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(output.stdout))


@pytest.mark.parametrize("module", ["infra.functions", "infra.cli"])
def test_a_spawned_process_imports_no_template_reader_and_no_aws_sdk(module: str) -> None:
    imported = _imported(module)
    unneeded = sorted(m for m in imported if m.split(".")[0] in NOT_NEEDED or m in NOT_NEEDED)
    assert not unneeded, f"importing {module} imports {unneeded}"
