"""Reading the project's own source as syntax trees, for the tests that check its structure."""

from __future__ import annotations

import ast
import sys
import time


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse`, safe from CPython 3.11's spurious "AST constructor recursion depth mismatch".

    3.11 keeps the AST converter's depth counter per interpreter, not per thread, so a conversion
    that another thread of the test process interleaves with trips the check (a test worker also
    runs the e2e stack's threads: its in-process emulator builds ASTs as it serves). The parse holds
    the interpreter for itself (no thread switch for a while) and is tried again if it still trips.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(30)
    try:
        for attempt in range(10):
            try:
                return ast.parse(source, filename)
            except SystemError as error:
                if "recursion depth mismatch" not in str(error):
                    raise
                last = error
                time.sleep(0.01 * (attempt + 1))  # let the other thread finish its conversion
        raise last
    finally:
        sys.setswitchinterval(interval)
