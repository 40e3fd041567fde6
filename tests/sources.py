"""Reading the project's own source as syntax trees, for the tests that check its structure."""

from __future__ import annotations

import ast


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse`, tried again on CPython 3.11's spurious "AST constructor recursion depth mismatch".

    3.11 keeps the AST converter's depth counter per interpreter, not per thread, so a conversion
    that another thread of the test process interleaves with can trip the check (seen once in a
    full run); the source itself is fine, and a second conversion succeeds.
    """
    for _ in range(4):
        try:
            return ast.parse(source, filename)
        except SystemError as error:
            if "recursion depth mismatch" not in str(error):
                raise
            last = error
    raise last
