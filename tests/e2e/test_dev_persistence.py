"""`kontakt dev` as a developer runs it: its data across restarts [issue 17 "Data survives a
restart"] and its console.

`kontakt dev` runs as a process of its own, in a project folder whose `.kontakt/` is this test's
(the folder links to the repository's files), with its default state folder `.kontakt/state`. A
record made over HTTP and a mail's unsubscribe link work after a Ctrl-C and a restart; a record
made before a SIGKILL (after one snapshot interval) is there after a restart; `--fresh` starts
empty. That last run then shows its console as a person meets it (a few requests, an event
consumed, an event a consumer fails on, a Ctrl-C) and `kontakt logs` reads its functions' logs:
one start of `kontakt dev` fewer than a console test of its own (docs/testing.md). The tests run
in order and share the folder.
"""

from __future__ import annotations

import contextlib
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infra.cli import main
from infra.emulator import FAKE_CREDENTIALS, free_port
from infra.template import REGION
from tests.e2e.conftest import PROJECT_ROOT
from tests.mail_wire import assert_one_click_on_the_wire

pytestmark = pytest.mark.heavy  # a minute or more: four starts of `kontakt dev` (docs/testing.md)

INTERVAL = 0.5  # --snapshot-interval: seconds a crash may lose
STARTUP_SECONDS = 120
# The banner's user: its token is made at the start already (and kept), so asking for it costs nothing.
TENANT, USER = "demo", "demo-admin"
TIME = r"\d\d:\d\d:\d\d\.\d{3}"
# Event types before one in a consumer's line: a batch of several types lists each (`a x2, b`).
TYPES_WITH = r"(?:[a-z_.]+(?: x\d+)?, )*"
# `HH:MM:SS.mmm  <function>  <what>  <status>  <ms> ms[  cold][  <why the gateway answered>]`
INVOCATION = re.compile(
    rf"^{TIME}  (?P<function>\(gateway\)|[A-Za-z]+)\s+(?P<what>.+?)\s+"
    r"(?P<status>\d{3}|ok|failed|\d+/\d+ failed)\s+(?P<ms>\d+) ms(?:  cold)?(?:  (?P<reason>[a-z ]+))?$"
)
NOTE = re.compile(r"^ {16}(?P<kind>warning|error): (?P<text>.+)$")


class Dev:
    """One `kontakt dev` process at a time in `root`, on a fixed port (so mailed links stay right)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.api_url = self.aws_endpoint = ""
        self.token = ""
        self.runs = 0

    def start(self, *flags: str) -> None:
        dev_file = self.root / ".kontakt" / "dev.json"
        dev_file.unlink(missing_ok=True)  # left by a SIGKILL
        self.runs += 1
        log = open(self.root / f"dev-{self.runs}.log", "wb")  # noqa: SIM115  (the process writes it)
        command = [sys.executable, "-m", "infra.cli", "dev", "--port", str(self.port), "--no-demo"]
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the console's lines as it writes them
        environment.pop("KONTAKT_LOG_DIR", None)  # the functions' logs in the folder's .kontakt/logs
        self.process = subprocess.Popen(
            [*command, "--snapshot-interval", str(INTERVAL), *flags],
            cwd=self.root,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its emulator and function workers: one group to clean up
        )
        log.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not dev_file.exists():
            assert self.process.poll() is None, f"kontakt dev exited: {self.log()}"
            assert time.monotonic() < deadline, f"kontakt dev did not start: {self.log()}"
            time.sleep(0.1)
        time.sleep(0.05)  # written whole right after it appears
        document = json.loads(dev_file.read_text())
        self.api_url, self.aws_endpoint = document["api_url"], document["aws_endpoint"]
        body = {"tenant": TENANT, "user": USER, "role": "admin", "groups": []}
        for _ in range(3):  # a cold start on a busy machine may time out the provisioning: ask again
            answer = requests.post(f"{self.api_url}/dev/token", json=body, timeout=60)
            if answer.ok:
                break
        assert answer.ok, f"no token: {answer.text} {self.log()}"
        self.token = answer.json()["token"]

    def log(self, tail: int = 3000) -> str:
        """The console of the last run (its last `tail` characters)."""
        return (self.root / f"dev-{self.runs}.log").read_text(errors="replace")[-tail:]

    def lines(self) -> list[str]:
        """The console of the last run, whole lines only."""
        text = (self.root / f"dev-{self.runs}.log").read_text(errors="replace")
        return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first console line of the last run matching `pattern`, once the process has written it."""
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        while True:
            found = next((m for m in map(compiled.search, self.lines()) if m), None)
            if found:
                return found
            exited = self.process is None or self.process.poll() is not None
            assert not exited and time.monotonic() < deadline, f"no line matching {pattern!r} in:\n{self.log(10**5)}"
            time.sleep(0.05)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return requests.request(method, f"{self.api_url}{path}", headers=headers, timeout=60, **kwargs)

    def stop(self) -> None:
        """Ctrl-C (a terminal sends it to each process of its group)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        assert self.process.wait(60) == 0, self.log()
        self._clean_up()

    def interrupt(self) -> int:
        """Ctrl-C to `kontakt dev` alone (as the console test's terminal would): its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(60)
        self._clean_up()
        return code

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._clean_up()

    def _clean_up(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):  # anything of its group still there
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    @property
    def state_file(self) -> Path:
        return self.root / ".kontakt" / "state" / "emulator-dev.state"

    def saved_after(self, moment: float) -> None:
        """Wait until a snapshot taken after `moment` is on disk: one written after it, then either
        another or two intervals without one (a snapshot begun before `moment` is followed by another)."""
        deadline = time.monotonic() + 30
        while not self.state_file.exists() or self.state_file.stat().st_mtime <= moment:
            assert time.monotonic() < deadline, "no snapshot was written"
            time.sleep(0.05)
        written = self.state_file.stat().st_mtime
        quiet_until = time.monotonic() + 2 * INTERVAL + 0.5
        while time.monotonic() < quiet_until and self.state_file.stat().st_mtime == written:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """A project folder of links to the repository's files, with a `.kontakt/` of its own."""
    root = tmp_path_factory.mktemp("project")
    for entry in PROJECT_ROOT.iterdir():
        if entry.name not in {".kontakt", ".git", ".venv"}:
            (root / entry.name).symlink_to(entry)
    runner = Dev(root)
    yield runner
    if runner.process is not None:
        runner.kill()


def _request_mail(dev: Dev, to: str) -> str:
    """email.send_requested on the bus (as another service asks for a list mail); the mail's file."""
    envelope = {
        "id": str(uuid.uuid4()),
        "type": "email.send_requested",
        "version": 1,
        "tenant_id": TENANT,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "service", "id": "scanner"},
        "correlation_id": str(uuid.uuid4()),
        "data": {
            "request_id": str(uuid.uuid4()),
            "requester": "scanner",
            "to": to,
            "subject": "News",
            "list_type_id": "service-notices",
        },
    }
    events = boto3.client("events", endpoint_url=dev.aws_endpoint, region_name=REGION, **FAKE_CREDENTIALS)
    entry = {"Source": "kontakt.test", "DetailType": envelope["type"], "Detail": json.dumps(envelope)}
    assert events.put_events(Entries=[{**entry, "EventBusName": "kontakt-dev"}])["FailedEntryCount"] == 0
    return to


def _mailed_link(dev: Dev, to: str) -> str:
    """The one-click unsubscribe link of the mail to `to` in the mail folder."""
    deadline = time.monotonic() + 90
    while True:
        for path in (dev.root / ".kontakt" / "mail").glob("*.eml"):
            raw = path.read_bytes()
            if f"To: {to}".encode() in raw:
                [link] = assert_one_click_on_the_wire(raw)
                return link
        assert time.monotonic() < deadline, f"no mail to {to}: {dev.log()}"
        time.sleep(0.2)


def _published_after(dev: Dev, record_id: str) -> list[dict[str, Any]]:
    """The events on the bus since the start, once one about `record_id` is among them."""
    deadline = time.monotonic() + 60
    while True:
        events: list[dict[str, Any]] = requests.get(f"{dev.api_url}/dev/events?limit=500", timeout=30).json()
        if any(record_id in json.dumps(event) for event in events):
            return events
        assert time.monotonic() < deadline, f"no event about {record_id}: {events}"
        time.sleep(0.2)


def test_records_and_a_mailed_unsubscribe_link_work_after_ctrl_c_and_a_restart(dev: Dev) -> None:
    dev.start("--snapshot-interval", "3600")  # what is saved, the stop saves
    created = dev.request("POST", "/accounts", json={"name": "Kept Oy"})
    assert created.status_code == 201, created.text
    account = created.json()
    link = _mailed_link(dev, _request_mail(dev, "reader@example.com"))
    assert link.startswith(f"{dev.api_url}/u/")
    dev.stop()

    dev.start()
    kept = dev.request("GET", f"/accounts/{account['id']}")
    assert kept.status_code == 200, kept.text
    assert "loaded the saved state" in dev.log(tail=10**7)
    assert (kept.json()["name"], kept.json()["number"]) == ("Kept Oy", account["number"])
    page = requests.get(link, timeout=60)  # the link as mailed before the restart
    assert page.status_code == 200, page.text
    assert 'id="unsubscribe"' in page.text
    confirmed = requests.post(
        link,
        data="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
        timeout=60,
    )
    assert confirmed.status_code == 200, confirmed.text
    # The numbering goes on where it was: the next account is not given the first one's number again.
    after = dev.request("POST", "/accounts", json={"name": "Next Oy"})
    assert after.status_code == 201 and after.json()["number"] != account["number"]
    # The outbox publisher goes on after what it published before the stop: the next account's event
    # comes (after the first one's in the table's stream), the first one's is not published again.
    published = _published_after(dev, after.json()["id"])
    assert not [event for event in published if account["id"] in json.dumps(event)], published


def test_a_record_made_a_snapshot_interval_before_a_sigkill_is_there_after_a_restart(dev: Dev) -> None:
    if dev.process is None:
        dev.start()
    created = dev.request("POST", "/accounts", json={"name": "Crash Oy"})
    assert created.status_code == 201, created.text
    dev.saved_after(time.time())
    dev.kill()

    dev.start()
    kept = dev.request("GET", f"/accounts/{created.json()['id']}")
    assert kept.status_code == 200 and kept.json()["name"] == "Crash Oy", kept.text


def test_fresh_starts_empty(dev: Dev) -> None:
    if dev.process is not None:
        dev.kill()  # (a clean stop is the first test's)
    assert dev.state_file.exists()
    dev.start("--fresh")
    assert "loaded the saved state" not in dev.log(tail=10**7)
    listed = dev.request("GET", "/accounts")
    assert listed.status_code == 200 and listed.json()["items"] == [], listed.text


# ---------------------------------------------------------------- the console of the last (fresh) run


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


def _kontakt(root: Path, *args: str) -> subprocess.Popen[str]:
    """`kontakt ARGS` run in `root`, its stderr in its stdout."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environment.pop("KONTAKT_LOG_DIR", None)
    command = [sys.executable, "-m", "infra.cli", *args]
    return subprocess.Popen(
        command, cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _event_bus(root: Path) -> str:
    """The stack's bus, as the functions' environment names it (template.yaml's EventBus)."""
    from infra.template import load_stack

    stack = load_stack(root, {"Stage": "dev"})
    return next(iter(stack.buses.values())).name


def test_console_shows_one_short_line_per_request_and_invocation(
    dev: Dev, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if dev.process is None:
        dev.start("--fresh")
    root = dev.root
    token = dev.wait_for(r"export TOKEN=(\S+)", STARTUP_SECONDS)[1]
    dev.wait_for("Ctrl-C to stop.")
    running = json.loads((root / ".kontakt" / "dev.json").read_text())
    follower = Output(_kontakt(root, "logs", "ActivitiesConsumerFunction", "--follow"))
    api, headers = running["api_url"], {"Authorization": f"Bearer {token}"}

    assert requests.get(f"{api}/contacts", headers=headers, timeout=60).status_code == 200
    unknown = f"01{uuid.uuid4().hex[:24].upper()}"
    assert requests.get(f"{api}/contacts/{unknown}", headers=headers, timeout=60).status_code == 404
    assert requests.get(f"{api}/contacts", headers={"Authorization": "Bearer x"}, timeout=60).status_code == 401
    created = requests.post(f"{api}/accounts", json={"name": "Console Oy"}, headers=headers, timeout=60)
    assert created.status_code == 201
    # A batch may hold other types too (the queue's batching window): `user.created, account.created`.
    dev.wait_for(rf"ActivitiesConsumerFunction\s+{TYPES_WITH}account\.created\b.*\s+ok\s")
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
    bus = boto3.client("events", endpoint_url=running["aws_endpoint"], region_name=REGION, **FAKE_CREDENTIALS)
    entry = {"Source": event["source"], "DetailType": "account.created", "Detail": json.dumps(broken)}
    assert bus.put_events(Entries=[{**entry, "EventBusName": _event_bus(root)}])["FailedEntryCount"] == 0
    dev.wait_for(rf"error: .*\(correlation id {correlation}\)")
    consumers = {
        "ActivitiesConsumerFunction",
        "EmailConsumerFunction",
        "SmsConsumerFunction",
        "ScannerConsumerFunction",
        "InvoicingConsumerFunction",
    }
    for consumer in sorted(consumers):  # one may still start cold
        dev.wait_for(rf"^{TIME}  {consumer}\s+{TYPES_WITH}account\.created\b.*\s+(\d+/\d+ )?failed")

    assert dev.interrupt() == 0
    lines = dev.lines()
    console = [m for m in map(INVOCATION.match, lines) if m]
    seen = {(m["function"], m["what"], m["status"]) for m in console}
    assert ("DirectoryApiFunction", "GET /contacts", "200") in seen
    # A long path is cut to the column's width.
    assert ("DirectoryApiFunction", f"GET /contacts/{unknown}"[:35] + "…", "404") in seen
    # The function, not the gateway, answers a refused token (the authorizer's refusal: shared/auth.py).
    assert ("DirectoryApiFunction", "GET /contacts", "401") in seen
    assert ("DirectoryApiFunction", "POST /accounts", "201") in seen
    assert any(m["function"] == "DirectoryPublisherFunction" and m["what"].startswith("publish ") for m in console)
    # The batch of one failed whole (the batch processor then fails the invocation).
    failed = {m["function"] for m in console if "account.created" in m["what"] and m["status"].endswith("failed")}
    assert failed == consumers, "\n".join(lines)

    notes = [m for m in map(NOTE.match, lines) if m]
    errors = [n["text"] for n in notes if n["kind"] == "error"]
    assert len(errors) == len(consumers) and all(f"(correlation id {correlation})" in e for e in errors), errors
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
