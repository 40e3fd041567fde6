"""`kontakt dev` keeps its data across restarts [issue 17 "Data survives a restart"].

`kontakt dev` runs as a developer runs it (a process of its own, in a project folder whose
`.kontakt/` is this test's: the folder links to the repository's files), with its default state
folder `.kontakt/state`. A record made over HTTP and a mail's unsubscribe link work after a Ctrl-C
and a restart; a record made before a SIGKILL (after one snapshot interval) is there after a
restart; `--fresh` starts empty. The tests run in order and share the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infra.emulator import FAKE_CREDENTIALS, free_port
from infra.template import REGION
from tests.e2e.conftest import PROJECT_ROOT
from tests.mail_wire import assert_one_click_on_the_wire

pytestmark = pytest.mark.heavy  # a minute or more: four starts of `kontakt dev` (docs/testing.md)

INTERVAL = 0.5  # --snapshot-interval: seconds a crash may lose
STARTUP_SECONDS = 120
# The banner's user: its token is made at the start already (and kept), so asking for it costs nothing.
TENANT, USER = "demo", "demo-admin"


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
        self.process = subprocess.Popen(
            [*command, "--snapshot-interval", str(INTERVAL), *flags],
            cwd=self.root,
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

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return requests.request(method, f"{self.api_url}{path}", headers=headers, timeout=60, **kwargs)

    def stop(self) -> None:
        """Ctrl-C (a terminal sends it to each process of its group)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        assert self.process.wait(60) == 0, self.log()
        self._clean_up()

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
