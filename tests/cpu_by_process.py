"""A pytest plugin that prints where a run's CPU went, by kind of process: the pytest process
itself, the emulator, each function's workers (and how many started), `kontakt dev` processes and
their children, chromium. Linux only: every process under the pytest process is read from /proc
every 0.2 s (a process's last reading counts; one that lives less than that may be missed).

    pytest -p tests.cpu_by_process -p no:xdist tests/e2e      # a table at the end
    CPU_BY_PROCESS_OUT=run.json pytest -p tests.cpu_by_process ...   # and the figures as JSON

Four helpers share the 2-core machine: CPU time per kind of process says where the suite's time
goes when wall times do not (docs/decisions.md, the test suite's budget, third pass)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict

TICK = os.sysconf("SC_CLK_TCK")
_kinds: dict[int, str] = {}  # pid -> kind
_last: dict[tuple[int, str], tuple[float, str, int]] = {}  # (pid, starttime) -> (cpu s, kind, ppid)
_starts: dict[str, int] = defaultdict(int)
_stop = threading.Event()


def _stat(pid: int):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2 :].split()
    ppid = int(rest[1])
    utime, stime = int(rest[11]), int(rest[12])
    start = rest[19]
    return ppid, (utime + stime) / TICK, start


def _cmd(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _classify(pid: int, cmd: str) -> str:
    if pid in _kinds:
        return _kinds[pid]
    if ("kontakt" in cmd and " dev" in cmd) or "infra.cli" in cmd:
        return "sub:kontakt-cli"
    if "chrom" in cmd:
        return "sub:chromium"
    if "pytest" in cmd:
        return "sub:pytest"
    if "spawn_main" in cmd:
        return "sub:spawn(unknown)"
    if "python" in cmd:
        return "sub:python " + cmd.split(" ")[1][:30] if " " in cmd else "sub:python"
    return "sub:" + cmd[:40]


def _sample() -> None:
    me = os.getpid()
    while True:
        stats = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                s = _stat(int(name))
                if s:
                    stats[int(name)] = s
        children: dict[int, list[int]] = defaultdict(list)
        for pid, (ppid, _, _) in stats.items():
            children[ppid].append(pid)
        todo = [(c, None) for c in children[me]]
        while todo:
            pid, parent_kind = todo.pop()
            ppid, cpu, start = stats[pid]
            key = (pid, start)
            if pid in _kinds:  # a function's worker, also when forked by a forkserver (infra/worker_preload.py)
                kind = _kinds[pid]
            elif key in _last and not _last[key][1].startswith("sub:spawn"):
                kind = _last[key][1]
            else:
                kind = parent_kind + ">" + _classify(pid, _cmd(pid)) if parent_kind else _classify(pid, _cmd(pid))
                if parent_kind:
                    kind = parent_kind.split(">")[0] + ">child"
            _last[key] = (cpu, kind, ppid)
            todo.extend((c, kind) for c in children[pid])
        if _stop.wait(0.2):
            return


def pytest_configure(config):
    from infra import emulator, functions

    original_start = functions.Worker._ensure_started

    def ensure_started(self):
        before = self._process
        result = original_start(self)
        if self._process is not None and self._process is not before:
            _kinds[self._process.pid] = "fn:" + self.spec.function_name
            _starts[self.spec.function_name] += 1
        return result

    functions.Worker._ensure_started = ensure_started
    original_emulator = emulator.Emulator.start

    def emulator_start(self, *args, **kwargs):
        result = original_emulator(self, *args, **kwargs)
        _kinds[self._process.pid] = "emulator"
        _starts["<emulator>"] += 1
        return result

    emulator.Emulator.start = emulator_start
    config._cpu_by_process_started = time.monotonic()
    threading.Thread(target=_sample, daemon=True).start()


def pytest_unconfigure(config):
    time.sleep(0.3)
    _stop.set()
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for cpu, kind, _ in _last.values():
        totals[kind] += cpu
        counts[kind] += 1
    t = os.times()
    own = t.user + t.system
    wall = time.monotonic() - config._cpu_by_process_started
    grouped: dict[str, float] = defaultdict(float)
    for kind, cpu in totals.items():
        grouped["functions" if kind.startswith("fn:") else kind] += cpu
    out = {
        "wall": wall,
        "pytest_self": own,
        "by_kind": dict(totals),
        "processes": dict(counts),
        "starts": dict(_starts),
        "grouped": dict(grouped),
    }
    path = os.environ.get("CPU_BY_PROCESS_OUT")
    if path and os.environ.get("PYTEST_XDIST_WORKER"):  # each xdist worker samples its own children
        path += "." + os.environ["PYTEST_XDIST_WORKER"]
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
    lines = [f"wall {wall:.1f}s  pytest self {own:.1f}s CPU"]
    for kind, cpu in sorted(grouped.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {kind:40s} {cpu:8.1f}s")
    lines.append("  -- functions (cpu, processes started)")
    for kind, cpu in sorted(totals.items(), key=lambda kv: -kv[1]):
        if kind.startswith("fn:"):
            lines.append(f"  {kind:50s} {cpu:7.1f}s  {counts[kind]:3d}")
    print("\n".join(lines))
