"""`kontakt dev` as a person meets it: its console (a start, a few requests, an event consumed, an
event a consumer fails on, a stop) and `kontakt logs`, read from a real `kontakt dev` process.

The process runs in a folder of its own whose entries link to this project's (so its `.kontakt/`
with dev.json, logs and mail is the test's, not a developer's running `kontakt dev`'s)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
import requests

from infra.cli import main

pytestmark = pytest.mark.enable_socket

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120
TIME = r"\d\d:\d\d:\d\d\.\d{3}"
# `HH:MM:SS.mmm  <function>  <what>  <status>  <ms> ms[  cold][  <why the gateway answered>]`
INVOCATION = re.compile(
    rf"^{TIME}  (?P<function>\(gateway\)|[A-Za-z]+)\s+(?P<what>.+?)\s+"
    r"(?P<status>\d{3}|ok|failed|\d+/\d+ failed)\s+(?P<ms>\d+) ms(?:  cold)?(?:  (?P<reason>[a-z ]+))?$"
)
NOTE = re.compile(r"^ {16}(?P<kind>warning|error): (?P<text>.+)$")


@dataclass
class Output:
    """A process and the lines it printed so far (read by a thread of its own)."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        with self.changed:
            while True:
                for line in self.lines:
                    found = compiled.search(line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines))
                self.changed.wait(min(left, 1))


def kontakt(root: Path, *args: str) -> subprocess.Popen[str]:
    """`kontakt ARGS` run in `root`, its stderr in its stdout."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environment.pop("KONTAKT_LOG_DIR", None)
    command = [sys.executable, "-m", "infra.cli", *args]
    return subprocess.Popen(
        command, cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder of links to this one's entries, with a `.kontakt/` of its own."""
    folder = tmp_path_factory.mktemp("project")
    for entry in PROJECT_ROOT.iterdir():
        if entry.name not in (".kontakt", ".git"):
            (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="module")
def dev(root: Path) -> Iterator[Output]:
    process = kontakt(root, "dev", "--port", "0", "--no-demo")
    try:
        yield Output(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def _stop(dev: Output) -> int:
    dev.process.send_signal(signal.SIGINT)  # Ctrl-C
    code = dev.process.wait(60)
    time.sleep(0.2)  # the reader takes the last lines
    return code


def test_console_shows_one_short_line_per_request_and_invocation(
    dev: Output, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = dev.wait_for(r"export TOKEN=(\S+)", START_TIMEOUT)[1]
    dev.wait_for("Ctrl-C to stop.")
    running = json.loads((root / ".kontakt" / "dev.json").read_text())
    follower = Output(kontakt(root, "logs", "ActivitiesConsumerFunction", "--follow"))
    api, headers = running["api_url"], {"Authorization": f"Bearer {token}"}

    assert requests.get(f"{api}/contacts", headers=headers, timeout=60).status_code == 200
    unknown = f"01{uuid.uuid4().hex[:24].upper()}"
    assert requests.get(f"{api}/contacts/{unknown}", headers=headers, timeout=60).status_code == 404
    assert requests.get(f"{api}/contacts", timeout=60).status_code == 401
    created = requests.post(f"{api}/accounts", json={"name": "Console Oy"}, headers=headers, timeout=60)
    assert created.status_code == 201
    dev.wait_for(r"ActivitiesConsumerFunction\s+account\.created\s+ok")
    try:  # `kontakt logs --follow` prints the lines as the function writes them
        follower.wait_for(r'"message":"event applied".*"event_type":"account.created"', timeout=20)
    finally:
        follower.process.kill()

    # An event consumers cannot apply: the account event again, as another event, without its data.
    event = next(
        e for e in requests.get(f"{api}/dev/events", timeout=10).json() if e["detail-type"] == "account.created"
    )
    correlation = f"console-{uuid.uuid4().hex[:8]}"
    broken = {**event["detail"], "id": f"01{uuid.uuid4().hex[:24].upper()}", "correlation_id": correlation, "data": {}}
    bus = boto3.client(
        "events",
        endpoint_url=running["aws_endpoint"],
        region_name="eu-north-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    entry = {"Source": event["source"], "DetailType": "account.created", "Detail": json.dumps(broken)}
    assert bus.put_events(Entries=[{**entry, "EventBusName": event_bus(root)}])["FailedEntryCount"] == 0
    dev.wait_for(rf"error: .*\(correlation id {correlation}\)")

    assert _stop(dev) == 0
    lines = dev.lines
    console = [m for m in map(INVOCATION.match, lines) if m]
    seen = {(m["function"], m["what"], m["status"]) for m in console}
    assert ("DirectoryApiFunction", "GET /contacts", "200") in seen
    # A long path is cut to the column's width.
    assert ("DirectoryApiFunction", f"GET /contacts/{unknown}"[:35] + "…", "404") in seen
    # The function, not the gateway, answers a missing token (shared/auth.py: no authorizer).
    assert ("DirectoryApiFunction", "GET /contacts", "401") in seen
    assert ("DirectoryApiFunction", "POST /accounts", "201") in seen
    assert any(m["function"] == "DirectoryPublisherFunction" and m["what"].startswith("publish ") for m in console)
    # The batch of one failed whole (the batch processor then fails the invocation).
    failed = {m["function"] for m in console if m["what"] == "account.created" and m["status"] == "failed"}
    assert failed == {"ActivitiesConsumerFunction", "EmailConsumerFunction"}, "\n".join(lines)

    notes = [m for m in map(NOTE.match, lines) if m]
    errors = [n["text"] for n in notes if n["kind"] == "error"]
    assert len(errors) == 2 and all(f"(correlation id {correlation})" in e for e in errors), errors
    assert all(e.startswith("event failed: ValidationError: ") for e in errors), errors
    assert all("-> kontakt logs " in e for e in errors)
    warnings = [n["text"] for n in notes if n["kind"] == "warning"]
    assert len(warnings) == len(set(warnings)), warnings  # each distinct warning once

    # No JSON log lines, no metrics warning, no SES GetAccount failure: the whole console is ours.
    assert not [line for line in lines if line.lstrip().startswith("{")]
    text = "\n".join(lines)
    for unwanted in ("No application metrics", "GetAccount", "send quota unreadable", "Traceback", '"level"'):
        assert unwanted not in text
    ours = (
        INVOCATION,
        NOTE,
        re.compile(rf"^{TIME}  \S"),
        re.compile(r"^(\s.*|Kontakt is running\.|Bearer.*|Ctrl-C.*)?$"),
    )
    strays = [line for line in lines if not any(p.match(line) for p in ours) and line != "stopping ..."]
    assert not strays, strays
    assert all(len(m.group(0)) <= 120 for m in console), "a console line is longer than 120 characters"

    # `kontakt logs`: the function's full JSON log (here the consumer's, which applied the event).
    monkeypatch.chdir(root)
    assert main(["logs", "ActivitiesConsumerFunction"]) == 0
    shown = capsys.readouterr().out
    records = [json.loads(line) for line in shown.splitlines() if line.startswith("{")]
    applied = [r for r in records if r.get("message") == "event applied" and r.get("event_type") == "account.created"]
    assert applied and applied[0]["service"] == "activities-consumer"
    assert [r for r in records if r.get("level") == "ERROR" and r.get("correlation_id") == correlation]
    assert re.search(r"^REPORT RequestId: \S+\tDuration: [\d.]+ ms", shown, re.MULTILINE)  # as Lambda writes
    assert main(["logs", "directoryapi", "--lines", "3"]) == 0  # any case, "Function" optional
    assert len(capsys.readouterr().out.splitlines()) == 3

    assert main(["logs", "NoSuchFunction"]) == 2
    unknown_name = capsys.readouterr().err
    assert "no function 'NoSuchFunction'" in unknown_name
    assert "  DirectoryApiFunction" in unknown_name and "  EmailSenderFunction" in unknown_name


def event_bus(root: Path) -> str:
    """The stack's bus, as the functions' environment names it (template.yaml's EventBus)."""
    from infra.template import load_stack

    stack = load_stack(root, {"Stage": "dev"})
    return next(iter(stack.buses.values())).name
