"""(m) An SMS send to a target group of N contacts through the local stack: messages/s end to end,
AWS calls per message against the batching minimum, the sending function's peak memory (issue 19).

The stack and its counting proxies are (h)'s (`CountedRuntime`: every function's AWS calls counted
by function, service and operation). Seeding (not measured): contacts with Finnish mobile numbers
straight into the directory table and their rows of the SMS service's contacts projection straight
into the sms table (in AWS the directory's contact events fill it), a target group whose one
condition (category) they match, SMS activated and enough credits. A warm-up send to WARMUP
contacts runs first (every function on the path starts cold once, not measured), then the measured
one: from POST /sms/sends until GET /sms/sends/{id} shows every message sent.

The minimum per message, from the issue's batching rules: one provider call (SendTextMessage), a
tenth of an SQS SendMessageBatch onto the send queue, and the DynamoDB writes the design must make
per message (the message staged, then its outcome recorded) in batches of 25: 1 + 0.1 + 2/25.

Recipients: KONTAKT_PERF_SMS_RECIPIENTS (default 1,000). The issue's figure is for 10,000:
`KONTAKT_PERF_SMS_RECIPIENTS=10000 .venv/bin/pytest -s -p no:xdist tests/perf/test_m_sms_send.py`.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import BATCH, PROJECT_ROOT, stopwatch
from .test_h_campaign import (
    Api,
    CountedRuntime,
    Send,
    SendingPath,
    peak_rss_mb,
    report_send,
    reset_peak_rss,
    seed_contacts,
)

pytestmark = pytest.mark.perf

RECIPIENTS = int(os.environ.get("KONTAKT_PERF_SMS_RECIPIENTS", "1000"))
SEND_RATE = os.environ.get("KONTAKT_PERF_SMS_RATE", "10000")
TENANT = "perf-sms"
SENDER = "SmsSenderFunction"
WARMUP = 20
PROGRESS_EVERY = 30.0
SETTLE_TIMEOUT = float(os.environ.get("KONTAKT_PERF_SMS_TIMEOUT", str(max(600, RECIPIENTS * 2))))
SENDING = ("SmsApiFunction", "SmsConsumerFunction", "SmsSenderFunction", "SmsPublisherFunction")
WRITES_PER_MESSAGE = 2
MINIMUM = {"sms-voice": 1.0, "sqs": 1 / 10, "dynamodb": WRITES_PER_MESSAGE / BATCH}
TEXT = "Hei {{ contact.first_name }}! Tarjous voimassa perjantaihin. Vastaa STOP lopettaaksesi."


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    environment = {SENDER: {"MAX_SMS_RATE": SEND_RATE}}
    runtime = CountedRuntime(PROJECT_ROOT, environment, stage="perfsms", port=0, concurrency=2)
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


def _projection_item(contact: dict[str, Any]) -> dict[str, Any]:
    """The SMS service's contacts-projection row of a contact, as its contact.created handler writes it."""
    from services.sms.domain.recipients import RULES
    from services.sms.store import SmsStore

    data = RULES.contact_with(None, {**contact, "version": 1})
    assert data is not None
    record = SmsStore().new(TENANT, "recipient", contact["id"], data)
    record.version = 1
    item: dict[str, Any] = record.serialize()
    return item


def seed(runtime: CountedRuntime, first: int, count: int, category: str) -> dict[str, str]:
    """Contacts in the directory and in the SMS projection; returns {contact id: mobile number}."""
    contacts = seed_contacts(runtime, TENANT, range(first, first + count), category, ("SmsTable", _projection_item))
    return {c["id"]: c["mobile"] for c in contacts}


def _send(api: Api, category: str) -> dict[str, Any]:
    condition = {"field": "category", "op": "equals", "value": category}
    group = api.call("POST", "/target-groups", 201, {"name": category, "conditions": [condition]})
    return api.call("POST", "/sms/sends", 202, {"target_group_id": group["id"], "text": TEXT})


def _wait_until_sent(api: Api, send_id: str, count: int, timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    deadline, shown = started + timeout, started
    send: dict[str, Any] = {}
    while time.monotonic() < deadline:
        send = api.call("GET", f"/sms/sends/{send_id}", 200)
        stats = send.get("stats") or {}
        done = stats.get("sent", 0) + stats.get("delivered", 0)
        if done >= count:
            return send
        if send.get("status") in ("refused", "cancelled", "failed"):
            break
        if time.monotonic() - shown >= PROGRESS_EVERY:
            shown = time.monotonic()
            print(f"  {shown - started:,.0f} s: {done:,} of {count:,} sent", flush=True)
        time.sleep(1.0)
    raise AssertionError(f"send not done within {timeout:.0f} s: {send}")


def _provider_messages(runtime: CountedRuntime, numbers: set[str]) -> Counter[str]:
    """How many messages the emulator's SMS accepted for each of these numbers."""
    from infra.sms_emulation import sent_messages

    return Counter(
        m["DestinationPhoneNumber"] for m in sent_messages(runtime.sms_dir) if m["DestinationPhoneNumber"] in numbers
    )


def test_sms_send_to_n_recipients(stack: CountedRuntime) -> None:
    with stopwatch() as seeding:
        seed(stack, 0, WARMUP, "warmup")
        numbers = seed(stack, WARMUP, RECIPIENTS, "customer")
    print(f"\nseeded {WARMUP + RECIPIENTS:,} contacts (directory + SMS projection) in {seeding():.1f} s")
    api = Api(stack, TENANT)
    api.call("PATCH", "/sms/settings", 200, {"active": True})
    api.call("POST", "/sms/credits", (200, 201), {"credits": 2 * (WARMUP + RECIPIENTS)})
    with stopwatch() as warming:
        warmup = _send(api, "warmup")
        _wait_until_sent(api, warmup["id"], WARMUP, SETTLE_TIMEOUT)
        stack.drain(300)
    print(f"warm-up send to {WARMUP} contacts (cold starts) in {warming():.1f} s")

    for pid in stack.worker_pids(SENDER):
        reset_peak_rss(pid)
    before, _ = stack.log.snapshot()
    with stopwatch() as elapsed:
        send = _send(api, "customer")
        after_send, _ = stack.log.snapshot()
        final = _wait_until_sent(api, send["id"], RECIPIENTS, SETTLE_TIMEOUT)
    seconds = elapsed()
    stack.drain(max(300.0, RECIPIENTS / 1.5))
    after, _ = stack.log.snapshot()

    api_calls = {k: n for k, n in (after_send - before).items() if k[0] == "SmsApiFunction"}
    calls: Counter[tuple[str, str, str]] = Counter(api_calls)
    calls.update({k: n for k, n in (after - before).items() if k[0] != "SmsApiFunction"})

    provider = sum(n for (_, service, op), n in calls.items() if (service, op) == ("sms-voice", "SendTextMessage"))
    assert provider == RECIPIENTS, provider  # one provider call per message, none twice
    sent = _provider_messages(stack, set(numbers.values()))
    assert sent == Counter({number: 1 for number in numbers.values()}), sent.most_common(3)
    stats = final["stats"]
    assert stats.get("sent", 0) + stats.get("delivered", 0) == RECIPIENTS, stats

    report_send(
        Send("m. sms send", "(m) SMS send", "message", RECIPIENTS, seconds),
        calls,
        SendingPath(SENDING, MINIMUM, "1 SendTextMessage + 1/10 SQS + 2/25 DynamoDB", "the send's"),
        [peak_rss_mb(pid) for pid in stack.worker_pids(SENDER)],
    )
