"""shared.csv_export: exported cells never run as spreadsheet formulas; no CSV writer elsewhere."""

import csv
import io
import re
from pathlib import Path

import pytest

from shared.csv_export import csv_text, neutralised

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+358 40 123", "'+358 40 123"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Anna", "Anna"),
        ("a=b", "a=b"),
        (None, ""),
        (5, "5"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value: object, written: str) -> None:
    assert neutralised(value) == written


def test_the_file_reads_back_with_every_cell_neutralised() -> None:
    text = csv_text(["name", "=head"], [["=cmd|' /C calc'!A0", "ok"], ["x;y", "@me"]])
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["name", "'=head"],
        ["'=cmd|' /C calc'!A0", "ok"],
        ["x;y", "'@me"],
    ]


def test_no_csv_is_written_outside_the_kernels_export_helper() -> None:
    writers = re.compile(r"csv\s*\.\s*(writer|DictWriter)\b|from\s+csv\s+import\s+[^\n]*\b(writer|DictWriter)\b")
    found = [
        str(path.relative_to(ROOT))
        for folder in ("services", "shared")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "shared" / "csv_export.py" and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "write CSV through shared.csv_export.csv_text"
