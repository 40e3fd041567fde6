"""(p) Invoice documents (issue 22's figure "PDF renders/s"): invoice PDFs rendered per second
in-process, for a one-page invoice of 4 lines in 2 order groups with the bank barcode and for a
3-page invoice of 90 lines, medians of RUNS runs of KONTAKT_PERF_INVOICE_PDFS documents (default
200). Also the Finvoice 3.0 XML rate from the same documents, and what importing the PDF module
(fpdf2, fonttools, Pillow) adds to a cold start, measured in a fresh interpreter. No I/O."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from decimal import Decimal as D

import pytest

from tests.unit.invoicing.samples import invoice

from .conftest import FIGURES, PROJECT_ROOT, median, render, stopwatch

pytestmark = pytest.mark.perf

DOCUMENTS = int(os.environ.get("KONTAKT_PERF_INVOICE_PDFS", "200"))
RUNS = 3


def _rate(make: object, documents: list[object]) -> tuple[float, float]:
    """(documents per wall-clock second, documents per CPU second of this process), medians of RUNS runs:
    the CPU rate is the one to read on a shared machine (2 cores, other work running)."""
    walls, cpus = [], []
    for _ in range(RUNS):
        cpu_start = time.process_time()
        with stopwatch() as elapsed:
            for document in documents:
                make(document)  # type: ignore[operator]
        walls.append(len(documents) / elapsed())
        cpus.append(len(documents) / (time.process_time() - cpu_start))
    return median(walls), median(cpus)


def _import_ms(module: str) -> float:
    """Milliseconds a fresh interpreter takes to import `module`, less one that imports nothing (median of 3)."""

    def run(code: str) -> float:
        script = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        )
        return float(out.stdout.strip()) * 1000

    return median([run(f"import {module}") for _ in range(3)])


def test_invoice_pdf_render_rate() -> None:
    from services.invoicing.domain.document import DocumentLine
    from services.invoicing.domain.finvoice import render_finvoice
    from services.invoicing.domain.pdf import render_pdf

    one_page = [invoice() for _ in range(DOCUMENTS)]
    lines = [
        DocumentLine(description=f"Palvelu {n}", quantity=D(n % 5 + 1), unit_price=D("9.90"), vat_rate=D("25.5"))
        for n in range(90)
    ]
    long = [invoice(lines=lines) for _ in range(max(20, DOCUMENTS // 10))]
    first = render_pdf(one_page[0])
    assert first.startswith(b"%PDF-") and render_pdf(long[0]).count(b"/Type /Page\n") >= 3
    size = len(first)

    one_page_rate, one_page_cpu = _rate(render_pdf, one_page)
    long_rate, long_cpu = _rate(render_pdf, long)
    finvoice_rate, finvoice_cpu = _rate(
        lambda d: render_finvoice(d, message_id="perf", sent=dt.datetime(2026, 12, 1, tzinfo=dt.UTC)), one_page
    )
    import_ms = _import_ms("services.invoicing.domain.pdf, fpdf")
    print(
        render(
            f"(p) invoice documents in-process, {DOCUMENTS:,} invoices, median of {RUNS} runs",
            [
                ("PDFs rendered, 1 page, 4 lines + barcode", f"{one_page_rate:,.0f}", "PDFs/s"),
                ("  the same per CPU second", f"{one_page_cpu:,.0f}", "PDFs/CPU-s"),
                ("PDFs rendered, 3 pages, 90 lines + barcode", f"{long_rate:,.0f}", "PDFs/s"),
                ("  the same per CPU second", f"{long_cpu:,.0f}", "PDFs/CPU-s"),
                ("one-page PDF size", f"{size:,}", "bytes"),
                ("Finvoice 3.0 XML, 4 lines", f"{finvoice_rate:,.0f}", "documents/s"),
                ("  the same per CPU second", f"{finvoice_cpu:,.0f}", "documents/CPU-s"),
                ("importing pdf.py with fpdf2 (cold start)", f"{import_ms:,.0f}", "ms"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("p. invoice documents", "invoice PDFs/s (1 page, barcode)", round(one_page_rate), "PDFs/s")
    FIGURES.add("p. invoice documents", "invoice PDFs per CPU second (1 page)", round(one_page_cpu), "PDFs/CPU-s")
    FIGURES.add("p. invoice documents", "invoice PDFs/s (3 pages, 90 lines)", round(long_rate), "PDFs/s")
    FIGURES.add("p. invoice documents", "Finvoice XML documents/s", round(finvoice_rate), "documents/s")
    assert one_page_rate > 5
