"""(t) Duplicate matching (issue 24): a scan of a labelled set of contacts, in-process, no I/O.

tests/duplicates_data.py makes KONTAKT_PERF_DUPLICATES records (default 100,000) of fewer people,
some entered two or three times with real-world variations (typos, nicknames, swapped names,
phone formats, email case and spaces, missing fields) and many different people sharing common
names. `services.directory.matching.engine.scan` (prepare, block, score, group) runs with the
default contact rules in a fresh interpreter, which reports:

- precision and recall, pairwise, of the groups found (every two records in one group are a
  pair) against the labels; and the blocking's recall (true pairs that were compared at all);
- candidate pairs compared per record (flat as the set grows: the blocking works);
- records per CPU second of the scan, and its peak memory: the interpreter's peak RSS (VmHWM)
  after the scan less before it (the records already generated and held).

What it does not measure yet: reading the records from the directory table (the scan job's AWS
calls per record), which comes with the job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import FIGURES, PROJECT_ROOT, render

pytestmark = pytest.mark.perf

RECORDS = int(os.environ.get("KONTAKT_PERF_DUPLICATES", "100000"))

SCAN = """
import json, re, sys, time
from pathlib import Path
from services.directory.matching.blocking import Blocks
from services.directory.matching.engine import prepare_all, scan
from services.directory.matching.rules import default_rules
from tests.duplicates_data import people_records, quality

def peak():  # kB; VmHWM, not ru_maxrss, which keeps the forking parent's peak across exec
    return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))

data = people_records(int(sys.argv[1]))
rules = default_rules("contacts")
scan(data.records[:200], rules)  # the libraries loaded and warm
before = peak()
cpu, wall = time.process_time(), time.perf_counter()
result = scan(data.records, rules)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
after = peak()
truth = data.true_pairs()
groups = quality([g.records for g in result.groups], truth)
prepared = prepare_all(data.records, rules)
compared = {(prepared[i].id, prepared[j].id) for i, j in Blocks(prepared).pairs()}
reached = sum(1 for a, b in truth if (a, b) in compared or (b, a) in compared)
print(json.dumps({
    "records": len(data.records), "people": len(set(data.person.values())), "true_pairs": len(truth),
    "precision": groups.precision, "recall": groups.recall, "found_pairs": groups.found_pairs,
    "blocking_recall": reached / len(truth), "compared": result.compared, "groups": len(result.groups),
    "largest_group": max(len(g.records) for g in result.groups), "capped_blocks": result.blocks.capped_blocks,
    "largest_block": result.blocks.largest_block, "cpu": cpu, "wall": wall, "before_kb": before, "after_kb": after,
    "shared_names": sum(1 for n in data.common_names().values() if n > 1),
}))
"""


def test_duplicate_scan_quality_and_rate() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCAN, str(RECORDS)], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    f = json.loads(result.stdout.strip().splitlines()[-1])
    per_record = f["compared"] / f["records"]
    rate = f["records"] / f["cpu"]
    memory = (f["after_kb"] - f["before_kb"]) / 1024
    rows = [
        ("records (people)", f"{f['records']:,} ({f['people']:,})", ""),
        ("true duplicate pairs", f"{f['true_pairs']:,}", "pairs"),
        ("names shared by different people", f"{f['shared_names']:,}", "names"),
        ("precision (pairs in the groups found)", f"{f['precision']:.4f}", ""),
        ("recall", f"{f['recall']:.4f}", ""),
        ("blocking recall (true pairs compared at all)", f"{f['blocking_recall']:.4f}", ""),
        ("candidate pairs compared per record", f"{per_record:.2f}", "pairs"),
        ("oversized blocks (sorted neighbourhood), largest", f"{f['capped_blocks']:,}, {f['largest_block']:,}", ""),
        ("groups found, largest", f"{f['groups']:,}, {f['largest_group']}", ""),
        ("scan rate (prepare, block, score, group)", f"{rate:,.0f}", "records/CPU s"),
        ("scan time", f"{f['cpu']:.1f} CPU, {f['wall']:.1f} wall", "s"),
        ("peak memory of the scan (VmHWM after - before)", f"{memory:.0f}", "MB"),
        ("peak RSS with the records held", f"{f['after_kb'] / 1024:.0f}", "MB"),
    ]
    print(render(f"(t) duplicate scan of {f['records']:,} contacts", rows, header=("figure", "value", "unit")))
    section = "t. Duplicates"
    FIGURES.add(section, f"precision / recall, {f['records']:,} contacts", f"{f['precision']:.3f} / {f['recall']:.3f}")
    FIGURES.add(section, "candidate pairs compared per record", round(per_record, 2), "pairs")
    FIGURES.add(section, "scan rate", round(rate), "records/CPU s")
    FIGURES.add(section, "scan peak memory", round(memory), "MB")
    # loose sanity bounds: the figures are the point
    assert f["precision"] > 0.95 and f["recall"] > 0.85, f
    assert per_record < 40, f
