"""(l) SMS parts: texts segmented per second, in-process, for a mix of GSM-7, GSM-7 with extension
characters and UCS-2 texts of one to several parts (issue 19's figure). Median of RUNS runs of
TEXTS texts (KONTAKT_PERF_SMS_TEXTS, default 20,000). No I/O: this measures the segmenter."""

from __future__ import annotations

import os

import pytest

from .conftest import FIGURES, median, render, stopwatch

pytestmark = pytest.mark.perf

TEXTS = int(os.environ.get("KONTAKT_PERF_SMS_TEXTS", "20000"))
RUNS = 5
SAMPLES = {
    "GSM-7": "Hei {n}, tarjous voimassa perjantaihin asti. Vastaa STOP lopettaaksesi.",
    "GSM-7 with extension": "Alennus 20 € [koodi {n}] ~ voimassa {{pe}} asti | Vastaa STOP. " * 3,
    "UCS-2": "Hej {n}! Välkommen till vår mässa \u2013 vi ses där \U0001f600 Svara STOPP för att avsluta. " * 2,
}


def test_segment_counting_rate() -> None:
    from services.sms.domain.segments import segment

    kinds = list(SAMPLES)
    texts = [SAMPLES[kinds[n % len(kinds)]].replace("{n}", str(n)) for n in range(TEXTS)]
    shapes = {kind: segment(SAMPLES[kind]) for kind in kinds}
    assert [shapes[kind].encoding for kind in kinds] == ["GSM-7", "GSM-7", "UCS-2"]
    rates = []
    for _ in range(RUNS):
        with stopwatch() as elapsed:
            for text in texts:
                segment(text)
        rates.append(len(texts) / elapsed())
    rate = median(rates)
    rows = [(f"{kind}: {len(SAMPLES[kind])} characters", str(len(shapes[kind].parts)), "parts") for kind in kinds]
    rows.append(("texts segmented (mixed)", f"{rate:,.0f}", "texts/s"))
    print(render(f"(l) SMS segments, {TEXTS:,} texts, median of {RUNS} runs", rows, header=("figure", "value", "unit")))
    FIGURES.add("l. SMS segments", "texts/s, mixed GSM-7/extension/UCS-2", round(rate), "texts/s")
