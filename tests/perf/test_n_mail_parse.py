"""(n) Inbound mail parsed per second, in-process, on the mixed real-world corpus of
tests/unit/scanner/corpus (bounces, newsletters, forwarded messages, TNEF, uuencode, cid images,
broken MIME; issue 21's figure). Median of RUNS passes over the corpus, KONTAKT_PERF_MAIL_PASSES
passes each (default 3). No I/O: this measures `services.scanner.domain.mime.parse`, sanitising,
the plain-text version and the reply split included, attachments kept in memory."""

from __future__ import annotations

import os

import pytest

from .conftest import FIGURES, PROJECT_ROOT, median, render, stopwatch

pytestmark = pytest.mark.perf

CORPUS = PROJECT_ROOT / "tests" / "unit" / "scanner" / "corpus"
PASSES = int(os.environ.get("KONTAKT_PERF_MAIL_PASSES", "3"))
RUNS = 5


def test_mail_parsing_rate() -> None:
    from services.scanner.domain.mime import parse

    messages = [p.read_bytes() for p in sorted(CORPUS.rglob("*")) if p.is_file() and p.suffix not in (".md", ".tnef")]
    total_bytes = sum(len(m) for m in messages)
    parsed = [parse(m) for m in messages]  # warm: the libraries' imports and compiled patterns
    assert not any(p.unparsable for p in parsed)
    rates, byte_rates = [], []
    for _ in range(RUNS):
        with stopwatch() as elapsed:
            for _ in range(PASSES):
                for raw in messages:
                    parse(raw)
        seconds = elapsed()
        rates.append(PASSES * len(messages) / seconds)
        byte_rates.append(PASSES * total_bytes / seconds / 1024 / 1024)
    rate = median(rates)
    rows = [
        ("corpus", f"{len(messages)} messages, {total_bytes / 1024 / 1024:.2f} MB", ""),
        ("attachments found", str(sum(len(p.attachments) for p in parsed)), "files"),
        ("messages parsed (mixed corpus)", f"{rate:,.0f}", "messages/s"),
        ("bytes parsed", f"{median(byte_rates):.1f}", "MB/s"),
    ]
    print(render(f"(n) mail parsing, {PASSES} passes, median of {RUNS} runs", rows, header=("figure", "value", "unit")))
    FIGURES.add("n. Mail parsing", "messages/s, mixed real-world corpus", round(rate), "messages/s")
    assert rate > 10
