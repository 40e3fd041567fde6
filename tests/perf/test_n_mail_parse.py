"""(n) Inbound mail parsed per second, in-process, on the mixed real-world corpus of
tests/unit/scanner/corpus (bounces, newsletters, forwarded messages, TNEF, uuencode, cid images,
broken MIME; issue 21's figure). Median of RUNS passes over the corpus, KONTAKT_PERF_MAIL_PASSES
passes each (default 3). No I/O: this measures `services.scanner.domain.mime.parse`, sanitising,
the plain-text version and the reply split included, attachments kept in memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.coldstart import functions

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


# A fresh interpreter reads a message of 25 MB of files (three attachments, an HTML body with a cid
# image) from a file and reports its peak RSS before and after parsing it, and the parse's seconds.
PARSE_ONE = """
import re, sys, time
from pathlib import Path
from services.scanner.domain.mime import parse

def peak():  # kB; VmHWM, not ru_maxrss, which keeps the forking parent's peak across exec
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))

raw = Path(sys.argv[1]).read_bytes()
before = peak()
started = time.perf_counter()
parsed = parse(raw)
seconds = time.perf_counter() - started
after = peak()
assert not parsed.oversize and len(parsed.attachments) == 3, parsed.defects
print(len(raw), parsed.attachments_size, before, after, seconds)
"""


def big_message() -> bytes:
    from email import policy
    from email.message import EmailMessage

    from services.scanner.domain.mime import MAX_MESSAGE_BYTES

    message = EmailMessage()
    message["From"] = "Matti <matti@example.fi>"
    message["To"] = "support@example.org"
    message["Subject"] = "Liitteet"
    message.set_content("Hei, liitteet ohessa.\n")
    message.add_alternative('<p>Hei, <img src="cid:logo@x"> liitteet ohessa.</p>', subtype="html")
    for n in range(3):
        data = os.urandom(MAX_MESSAGE_BYTES // 3 - 1024)
        message.add_attachment(data, maintype="application", subtype="pdf", filename=f"liite-{n}.pdf")
    return message.as_bytes(policy=policy.SMTP)


def test_peak_memory_of_parsing_a_25_mb_message(tmp_path: Path) -> None:
    source = tmp_path / "big.eml"
    source.write_bytes(big_message())
    result = subprocess.run(
        [sys.executable, "-c", PARSE_ONE, str(source)], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    raw, files, before, after, seconds = result.stdout.split()
    memory = next(f.memory for f in functions() if f.logical_id == "ScannerInboundFunction")  # template.yaml's
    rows = [
        ("message", f"{int(raw) / 1024 / 1024:.1f} MB raw, {int(files) / 1024 / 1024:.1f} MB of files", ""),
        ("peak RSS before parse (libraries loaded, source read)", f"{int(before) / 1024:.0f}", "MB"),
        ("peak RSS after parse", f"{int(after) / 1024:.0f}", "MB"),
        ("parse time", f"{float(seconds):.2f}", "s"),
        ("ScannerInboundFunction's MemorySize (template.yaml)", f"{memory}", "MB"),
    ]
    print(render("(n) parsing a 25 MB message in one interpreter", rows, header=("figure", "value", "unit")))
    FIGURES.add("n. Mail parsing", "peak RSS parsing a 25 MB message", round(int(after) / 1024), "MB")
    # the function holds the message and its parse, plus the runtime and boto3: at most half its memory
    assert int(after) / 1024 < memory / 2, (after, memory)
