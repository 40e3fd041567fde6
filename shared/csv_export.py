"""CSV files Kontakt writes: every cell neutralised against formula injection.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab or CR before
one) as a formula: a contact named `=HYPERLINK(...)` would run in the exporting user's Excel. Such
a cell is written with a leading `'`, which spreadsheets show as text (OWASP's "CSV injection").
Every CSV export writes through `csv_text` (tests/unit/shared/test_kernel_csv_export.py fails on a
`csv.writer` or `csv.DictWriter` anywhere else in services/ or shared/).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> str:
    """A cell's text, with a leading `'` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> str:
    """The CSV file of these rows under `header`, every cell neutralised (CRLF line ends, as RFC 4180)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([neutralised(h) for h in header])
    writer.writerows([neutralised(cell) for cell in row] for row in rows)
    return out.getvalue()
