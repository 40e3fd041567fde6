"""(h) A campaign to N recipients through the local stack: recipients/s, AWS calls per recipient, sender memory.

The stack runs as `kontakt dev` runs it (its own runtime, two workers per function), with one
difference: every function's AWS endpoint is a counting proxy in front of the emulator (one port
per function), so each API call a function makes is counted by function, service and operation,
whatever process makes it. The runtime's own machinery (SQS pumps and stream pumps, which are
Lambda's event source mappings in AWS, the event tap, `drain`) talks to the emulator directly and
is not counted.

Seeding (not measured): contacts with addresses straight into the directory table (the items the
store writes, as in (c)), their rows of the email service's recipients projection straight into
the email table (in AWS the directory's contact events fill it), and per campaign a target group
whose one condition (category) its contacts match, so resolution reads one item per member.
Then, through the API: a template and two campaigns on the tenant's first list type. A warm-up
campaign to WARMUP contacts is sent first (every function on the path starts cold once, not
measured), then the measured one: from POST /campaigns/{id}/send until GET /campaigns/{id} shows
every recipient sent. The stack is then drained (email.sent reaches the activities service, the
local SES emulation's events reach the feedback function) and the calls of the whole cascade are
counted. The sending path (email API, audience pages -> messages, sender, email.sent publisher)
is compared with the minimum; the directory's resolution and the reactions to the mails are
listed per function beside it.

The minimum per recipient, from the issue's batching rules: one SES send, a tenth of an SQS
SendMessageBatch onto the send queue, and the DynamoDB writes the design must make per recipient
(the message record staged, then its outcome recorded) in batches of 25: 1 + 0.1 + 2/25.

The sender's peak memory is the high-water mark of its worker processes' resident set
(/proc/<pid>/status VmHWM, reset through /proc/<pid>/clear_refs before the send): the figure
Lambda reports as "Max Memory Used". tracemalloc would need code inside the worker and sees only
Python's own allocations, not the interpreter, boto3 and the buffers.

Recipients: KONTAKT_PERF_CAMPAIGN_RECIPIENTS (default 2,000). The issue's figure is for 100,000:
`KONTAKT_PERF_CAMPAIGN_RECIPIENTS=100000 .venv/bin/pytest -s tests/perf/test_h_campaign.py`.
Seeding writes ~40 contacts/s (both tables); function timeouts are raised to Lambda's 900 s maximum so
resolution on moto does not time out (AWS resolves 100,000 contacts in seconds). The account's
SES rate (moto answers GetAccount with its own quota) is set high through MAX_SEND_RATE
(KONTAKT_PERF_CAMPAIGN_SEND_RATE, default 10,000/s) so the figure measures the pipeline, not
the quota. Measured on the 2-core machine: ~2.5 recipients/s right after the send falling to
~0.8/s as moto's tables grow (it serves every DynamoDB request of the cascade one at a time and
each index Query reads the whole table), so the default 2,000 takes about half an hour.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from infra.functions import FunctionPool, Functions
from infra.runtime import LocalRuntime
from infra.template import Stack

from .conftest import BATCH, FIGURES, PROJECT_ROOT, SEED_THREADS, contact_record, render, stopwatch

pytestmark = pytest.mark.perf

RECIPIENTS = int(os.environ.get("KONTAKT_PERF_CAMPAIGN_RECIPIENTS", "2000"))
SEND_RATE = os.environ.get("KONTAKT_PERF_CAMPAIGN_SEND_RATE", "10000")
TENANT = "perf-campaign"
LAMBDA_MAX_TIMEOUT = 900
SETTLE_TIMEOUT = float(os.environ.get("KONTAKT_PERF_CAMPAIGN_TIMEOUT", str(max(600, RECIPIENTS * 2))))  # moto: ~1/s
SENDER = "EmailSenderFunction"
WARMUP = 20  # a first campaign to these many contacts: cold starts are not measured
PROGRESS_EVERY = 30.0
# The functions a campaign's sending path runs (API, audience pages -> messages, sender, email.sent);
# the directory's resolution and the reactions to the mails (SES events, activities) are shown apart.
SENDING = ("EmailApiFunction", "EmailConsumerFunction", "EmailSenderFunction", "EmailPublisherFunction")
# The design's DynamoDB writes per recipient: the message staged, then its outcome recorded.
WRITES_PER_RECIPIENT = 2
MINIMUM = {"ses": 1.0, "sqs": 1 / 10, "dynamodb": WRITES_PER_RECIPIENT / BATCH}


# ----------------------------------------------------------------------------- counting proxy


class CallLog:
    """AWS calls by (function, service, operation), and the Message-IDs of the mails sent through SES."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.message_ids: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, function: str, service: str, operation: str, message_id: str | None) -> None:
        with self._lock:
            self.calls[(function, service, operation)] += 1
            if message_id:
                self.message_ids[message_id] += 1

    def snapshot(self) -> tuple[Counter[tuple[str, str, str]], Counter[str]]:
        with self._lock:
            return Counter(self.calls), Counter(self.message_ids)


_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.IGNORECASE | re.MULTILINE)


def classify(method: str, path: str, headers: Any, body: bytes) -> tuple[str, str]:
    """(service, operation) of a signed AWS request, from its SigV4 scope and protocol."""
    match = _SCOPE.search(headers.get("Authorization", ""))
    service = match.group(1) if match else "?"
    target = headers.get("X-Amz-Target")
    if target:  # JSON protocols: DynamoDB, SQS, EventBridge, Secrets Manager ...
        return service, target.rsplit(".", 1)[-1]
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):  # query protocol
        action = parse_qs(body.decode(errors="replace")).get("Action")
        if action:
            return service, action[0]
    route = urlsplit(path).path
    if service == "ses" and route.endswith("/outbound-emails"):
        return service, "SendEmail"
    if service == "s3":
        return service, {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject"}.get(method, method)
    return service, f"{method} {'/'.join(route.split('/')[:4])}"


def sent_message_id(body: bytes) -> str | None:
    """The Message-ID header of a raw mail handed to SESv2 SendEmail."""
    import base64

    try:
        raw = base64.b64decode(json.loads(body)["Content"]["Raw"]["Data"])
    except (ValueError, KeyError, TypeError):
        return None
    found = _MESSAGE_ID.search(raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0])
    return found.group(1).decode() if found else None


class _Forward(BaseHTTPRequestHandler):
    """Forwards one connection's requests to the emulator over one kept-alive upstream connection."""

    protocol_version = "HTTP/1.1"
    server: _ProxyServer
    _connection: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _relay(self) -> None:
        body = self._body()
        service, operation = classify(self.command, self.path, self.headers, body)
        message_id = sent_message_id(body) if (service, operation) == ("ses", "SendEmail") else None
        self.server.log.add(self.server.function, service, operation, message_id)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
        headers["Content-Length"] = str(len(body))
        status, reason, response_headers, payload = self._upstream(headers, body)
        self.send_response_only(status, reason)
        for name, value in response_headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _upstream(self, headers: dict[str, str], body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in range(2):
            connection = self._connection
            if connection is None:
                connection = self._connection = http.client.HTTPConnection(*self.server.upstream, timeout=900)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.reason, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                self._connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _relay


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, function: str, upstream: tuple[str, int], log: CallLog) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.function = function
        self.upstream = upstream
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class CountedRuntime(LocalRuntime):
    """`kontakt dev`, with each function's AWS calls going through its own counting proxy."""

    def __init__(self, project_root: str | Path, environment: dict[str, dict[str, str]], **kwargs: Any) -> None:
        super().__init__(project_root, **kwargs)
        self.log = CallLog()
        self.extra_environment = environment
        self.proxies: dict[str, _ProxyServer] = {}

    def _functions(self, stack: Stack) -> Functions:
        """The runtime's pools (the dev provisioner, secrets, IAM), each function's behind its proxy."""
        functions = super()._functions(stack)
        upstream = urlsplit(self.aws_endpoint)
        pools = functions._pools
        for logical_id in stack.functions:
            proxy = _ProxyServer(logical_id, (upstream.hostname or "127.0.0.1", upstream.port or 80), self.log)
            threading.Thread(target=proxy.serve_forever, name=f"proxy:{logical_id}", daemon=True).start()
            self.proxies[logical_id] = proxy
            spec = pools[logical_id].spec
            environment = {**spec.environment, "AWS_ENDPOINT_URL": proxy.url}
            environment.update(self.extra_environment.get(logical_id, {}))
            spec = replace(spec, environment=environment, timeout=max(spec.timeout, LAMBDA_MAX_TIMEOUT))
            pools[logical_id] = FunctionPool(spec, self.concurrency)
        return functions

    def stop(self) -> None:
        super().stop()
        for proxy in self.proxies.values():
            proxy.shutdown()
            proxy.server_close()

    def worker_pids(self, logical_id: str) -> list[int]:
        assert self.functions is not None
        return self.functions.worker_pids(logical_id)


# ----------------------------------------------------------------------------- memory of a worker


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set since start or the last reset."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS


# ----------------------------------------------------------------------------- the stack and its data


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    environment = {SENDER: {"MAX_SEND_RATE": SEND_RATE}}
    runtime = CountedRuntime(PROJECT_ROOT, environment, stage="perfmail", port=0, concurrency=2)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def _batch_write(runtime: LocalRuntime, table: str, items: Iterator[list[dict[str, Any]]]) -> None:
    client = runtime.client("dynamodb")

    def write(batch: list[dict[str, Any]]) -> None:
        requests_ = [{"PutRequest": {"Item": item}} for item in batch]
        while requests_:
            response = client.batch_write_item(RequestItems={table: requests_})
            requests_ = response.get("UnprocessedItems", {}).get(table, [])

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(write, items))


def _recipient_item(contact: dict[str, Any]) -> dict[str, Any]:
    """The email service's projection row of a contact, as its contact.created handler writes it."""
    from services.email.domain.recipients import contact_with
    from services.email.store import EmailStore

    data = contact_with(None, {**contact, "version": 1})
    assert data is not None
    record = EmailStore().new(TENANT, "recipient", contact["id"], data)
    record.version = 1
    item: dict[str, Any] = record.serialize()
    return item


def seed_contacts(
    runtime: CountedRuntime,
    tenant: str,
    span: range,
    category: str,
    projection: tuple[str, Callable[[dict[str, Any]], dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Contacts `span` of a category in the directory, and their rows of a service's contacts
    projection (`projection`: its table's logical id, the row item of a contact); the contacts."""
    assert runtime.stack is not None
    directory = runtime.stack.tables["DirectoryTable"].name
    table, row_of = runtime.stack.tables[projection[0]].name, projection[1]
    records = [contact_record(tenant, n) for n in span]
    for record in records:
        record.data = {**record.data, "category": category}
    contacts = [r.data for r in records]
    batches = range(0, len(records), BATCH)
    _batch_write(runtime, directory, (list(r.serialize() for r in records[i : i + BATCH]) for i in batches))
    _batch_write(runtime, table, ([row_of(c) for c in contacts[i : i + BATCH]] for i in batches))
    return contacts


def seed(runtime: CountedRuntime, first: int, count: int, category: str) -> dict[str, str]:
    """Contacts in the directory and in the email service's projection; returns {contact id: address}."""
    contacts = seed_contacts(runtime, TENANT, range(first, first + count), category, ("EmailTable", _recipient_item))
    return {c["id"]: c["email"] for c in contacts}


class Api:
    def __init__(self, runtime: LocalRuntime, tenant: str) -> None:
        self.url = runtime.api_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {runtime.token(tenant, 'perf-admin', 'admin')}"

    def call(self, method: str, path: str, expected: int | tuple[int, ...], body: Any = None) -> dict[str, Any]:
        response = self.session.request(method, f"{self.url}{path}", json=body, timeout=900)
        allowed = expected if isinstance(expected, tuple) else (expected,)
        assert response.status_code in allowed, f"{method} {path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json() if response.content else {}
        return result


TEMPLATE = {
    "name": "Perf newsletter",
    "subject": "News for {{ contact.first_name }} {{ contact.last_name }}",
    "html": "<p>Hello {{ contact.first_name }},</p><p>Your region: {{ contact.region }}.</p>"
    '<p><a href="https://perf.example/offer">The offer</a></p>',
    "text": "Hello {{ contact.first_name }}, your region: {{ contact.region }}. https://perf.example/offer",
}


def _sent_mails(runtime: LocalRuntime) -> Counter[str]:
    """Message-IDs of the raw mails moto's SES recorded."""
    state = requests.get(f"{runtime.aws_endpoint}/moto-api/data.json", timeout=600).json()
    found: Counter[str] = Counter()
    for mail in state.get("ses", {}).get("RawMessage", []):
        match = _MESSAGE_ID.search(str(mail.get("raw_data", "")).encode())
        if match:
            found[match.group(1).decode()] += 1
    return found


def _campaign(api: Api, category: str, template_id: str, list_type_id: str) -> dict[str, Any]:
    """A draft campaign to a target group matching the contacts of one category (one item read per member)."""
    condition = {"field": "category", "op": "equals", "value": category}
    group = api.call("POST", "/target-groups", 201, {"name": category, "conditions": [condition]})
    body = {"name": f"Perf {category}", "template_id": template_id, "list_type_id": list_type_id}
    return api.call("POST", "/campaigns", 201, {**body, "target_group_id": group["id"]})


def _wait_until_sent(api: Api, campaign_id: str, count: int, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    deadline, shown = started + timeout, started
    campaign: dict[str, Any] = {}
    while time.monotonic() < deadline:
        campaign = api.call("GET", f"/campaigns/{campaign_id}", 200)
        stats = campaign.get("stats") or {}
        if campaign.get("status") == "sent" and stats.get("sent", 0) >= count:
            return campaign
        if campaign.get("status") in ("failed", "cancelled"):
            break
        if time.monotonic() - shown >= PROGRESS_EVERY:  # a partial figure if a long run is cut short
            shown = time.monotonic()
            print(f"  {shown - started:,.0f} s: {stats.get('sent', 0):,} of {count:,} sent", flush=True)
        time.sleep(1.0)
    raise AssertionError(f"campaign not sent within {timeout:.0f} s: {campaign}")


# ----------------------------------------------------------------------------- the benchmark


def _per_recipient(calls: Counter[tuple[str, str, str]], count: int, functions: set[str] | None = None) -> str:
    by_operation: Counter[str] = Counter()
    for (function, service, operation), n in calls.items():
        if functions is None or function in functions:
            by_operation[f"{service} {operation}"] += n
    return ", ".join(f"{op} {n / count:.3f}" for op, n in sorted(by_operation.items()))


@dataclass(frozen=True)
class Send:
    """One measured bulk send: its figures' section, its table's title, what a unit is, how many, how long."""

    section: str
    title: str
    unit: str
    count: int
    seconds: float
    of: str = "recipients"  # what the count counts, in the table's title
    units: str = ""  # the unit's plural, when not the unit + "s"


@dataclass(frozen=True)
class SendingPath:
    """The functions of a send's sending path, the batching minimum per unit by AWS service and its note."""

    functions: tuple[str, ...]
    minimum: dict[str, float]
    note: str
    whose: str  # "the campaign's": the whole cascade's owner in the by-function heading


def report_send(send: Send, calls: Counter[tuple[str, str, str]], path: SendingPath, sender_peaks: list[float]) -> None:
    """Print a bulk send's table (calls per unit on the sending path beside the minimum, by service
    and by function, the sender's peak memory) and add its figures to the summary."""
    count, unit = send.count, send.unit
    units = send.units or f"{unit}s"
    by_service: Counter[str] = Counter()
    for (function, service, _), n in calls.items():
        if function in path.functions:
            by_service[service] += n
    sending_total = sum(by_service.values())
    minimum = sum(path.minimum.values())
    rows: list[tuple[str, ...]] = [
        (units, f"{count:,}", ""),
        ("send request -> all sent", f"{send.seconds:.1f}", "s"),
        (f"{units} end to end", f"{count / send.seconds:,.1f}", "per s"),
        (f"sending path AWS calls per {unit}", f"{sending_total / count:.3f}", ", ".join(path.functions)),
        (f"batching minimum per {unit}", f"{minimum:.3f}", path.note),
    ]
    for service in sorted(by_service):
        least = path.minimum.get(service)
        rows.append((f"  {service}", f"{by_service[service] / count:.3f}", f"minimum {least:.3f}" if least else ""))
    rows.append((f"calls per {unit} by function", "", f"(all functions, {path.whose} whole cascade)"))
    for function in sorted({f for (f, _, _) in calls}):
        total = sum(n for (f, _, _), n in calls.items() if f == function)
        rows.append((f"  {function}", f"{total / count:.3f}", _per_recipient(calls, count, {function})))
    rows.append(("sender peak RSS (VmHWM) per worker", ", ".join(f"{p:.0f}" for p in sender_peaks), "MB"))
    title = f"{send.title} to {count:,} {send.of} through the local stack (moto), calls per {unit}"
    print(render(title, rows, header=("figure", "value", "unit / by operation")))
    FIGURES.add(send.section, f"{units}/s end to end at {count:,}", round(count / send.seconds, 1), "per s")
    FIGURES.add(send.section, f"sending path AWS calls per {unit}", round(sending_total / count, 3), "calls")
    FIGURES.add(send.section, f"batching minimum per {unit}", round(minimum, 3), "calls")
    FIGURES.add(send.section, "sender peak RSS", round(max(sender_peaks, default=0.0)), "MB")


def test_campaign_to_n_recipients(stack: CountedRuntime) -> None:
    from shared.ids import derived_id

    assert stack.stack is not None
    with stopwatch() as seeding:
        seed(stack, 0, WARMUP, "warmup")
        addresses = seed(stack, WARMUP, RECIPIENTS, "customer")
    print(f"\nseeded {WARMUP + RECIPIENTS:,} contacts (directory + email projection) in {seeding():.1f} s")
    api = Api(stack, TENANT)
    template = api.call("POST", "/email/templates", 201, TEMPLATE)
    list_type = api.call("GET", "/email/list-types", 200)["items"][0]
    warmup = _campaign(api, "warmup", template["id"], list_type["id"])
    campaign = _campaign(api, "customer", template["id"], list_type["id"])
    with stopwatch() as warming:  # every function of the path starts cold once, as in (b)
        api.call("POST", f"/campaigns/{warmup['id']}/send", (200, 202))
        _wait_until_sent(api, warmup["id"], WARMUP, SETTLE_TIMEOUT)
        stack.drain(300)  # the warm-up's events settle before counting
    print(f"warm-up campaign to {WARMUP} contacts (cold starts) in {warming():.1f} s")

    for pid in stack.worker_pids(SENDER):
        reset_peak_rss(pid)  # the peak of this campaign, not of the warm-up's cold start
    before, ids_before = stack.log.snapshot()
    with stopwatch() as elapsed:
        api.call("POST", f"/campaigns/{campaign['id']}/send", (200, 202))
        after_send, _ = stack.log.snapshot()
        final = _wait_until_sent(api, campaign["id"], RECIPIENTS, SETTLE_TIMEOUT)
    seconds = elapsed()
    # email.sent reaches the activities service (~2 a second on moto), outboxes empty
    stack.drain(max(300.0, RECIPIENTS / 1.5))
    after, ids_after = stack.log.snapshot()
    proxied_ids = ids_after - ids_before  # the measured campaign's mails, not the warm-up's

    # The API's calls: the send request only, not the polling of GET /campaigns/{id}.
    api_calls = {k: n for k, n in (after_send - before).items() if k[0] == "EmailApiFunction"}
    calls: Counter[tuple[str, str, str]] = Counter(api_calls)
    calls.update({k: n for k, n in (after - before).items() if k[0] != "EmailApiFunction"})

    # Correctness: one SES mail per recipient, none twice, every recipient's record "sent".
    stats = final["stats"]
    assert stats.get("sent") == RECIPIENTS and stats.get("queued", 0) == 0, stats
    assert all(n == 1 for n in proxied_ids.values()), proxied_ids.most_common(3)
    assert len(proxied_ids) == RECIPIENTS
    expected = {f"{derived_id(final['once_scope'], contact_id)}@kontakt" for contact_id in addresses}
    assert set(proxied_ids) == expected  # each seeded contact got its own mail
    recorded = _sent_mails(stack)
    assert all(recorded[m] == 1 for m in expected), "moto's SES did not record each mail once"
    ses_sends = sum(n for (_, service, op), n in calls.items() if (service, op) == ("ses", "SendEmail"))
    assert ses_sends == RECIPIENTS, ses_sends
    assert len(set(addresses.values())) == RECIPIENTS

    report_send(
        Send("h. campaign", "(h) campaign", "recipient", RECIPIENTS, seconds),
        calls,
        SendingPath(SENDING, MINIMUM, "1 SES + 1/10 SQS + 2/25 DynamoDB", "the campaign's"),
        [peak_rss_mb(pid) for pid in stack.worker_pids(SENDER)],
    )
