"""(v) Merges (issue 24 items 4-5): the AWS calls of `POST /duplicates/merge` and of each service's
consumer that applies `contact.merged` / `account.merged`, per moved reference, beside the minimum.

Through `kontakt dev` with each function's AWS calls counted by a proxy (`CountedRuntime`, as in
(h), (r), (t)). One tenant; every reference is made through the HTTP API (or, for mails, the
`email.send_requested` command a service would put on the bus), then the stack is drained. Five
merges, each through the API, each waited for (polled through the API until every service shows
its references on the survivor) and drained before the next:

- contact, 1 merged record with no references (the fixed cost of a contact merge everywhere);
- contact, 3 merged records with no references;
- per service, a contact merge of 1 merged record with REFS references in that service alone:
  activities (events), mails, SMS messages, tickets (inbound mails from its address), workflow
  runs (REFS active workflows whose condition only it matches). One service at a time, so what
  its moves cause elsewhere shows apart (a mail's and an SMS's `email.sent` / `sms.sent` made an
  activity of it: the activities service moves that too);
- account, 1 merged record with no references;
- account, 1 merged record with REFS sales orders and ACCOUNT_CONTACTS contacts.
The survivor of each has every field its merged records have, so the merge changes none of its
values (no `contact.updated` of the survivor): what is counted is the merge alone.

A consumer's calls per reference = (its calls for the merge with references - its calls for the
same kind of merge without) / REFS (for an account merge, the other services per moved contact:
each takes the directory's `contact.updated` of it). The minimum per reference is the design's (shared/merges.py):
the reference re-read (GetItem) and moved in its own TransactWriteItems, plus the index Query that
lists them (one per page of 100). What a service reads beyond that is listed per operation.

The minimum of `POST /duplicates/merge` with m merged records: the tenant and its settings, the
duplicate rules (2 reads), the survivor and each merged record read (1 + m), the one
TransactWriteItems of the merge, then per merged record its removal (re-read, TransactWriteItems:
2m): 2 + (1 + m) + 1 + 2m. (Measured beside it: a Query per merged record too, for the index
entries its removal deletes.)

Wall and CPU time (every function worker's user + system time, not the emulator's) from the POST
until every service shows the merge: an indication only (moto serves one request at a time).

References: KONTAKT_PERF_MERGE_REFS (default 50).
Run: .venv/bin/pytest -s -p no:xdist -p no:cacheprovider tests/perf/test_v_merges.py
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api
from tests.e2e.email.helpers import request_mail
from tests.e2e.helpers import created, drain, ok, settle, walk
from tests.e2e.scanner.helpers import mailbox, message

from .conftest import FIGURES, PROJECT_ROOT, render, started
from .test_h_campaign import CountedRuntime

pytestmark = pytest.mark.perf

REFS = int(os.environ.get("KONTAKT_PERF_MERGE_REFS", "50"))
ACCOUNT_CONTACTS = 10  # contacts of the merged account: each moved by the directory (a contact.updated each)
API = "DirectoryApiFunction"
CONSUMERS = {
    "directory": "DirectoryConsumerFunction",
    "activities": "ActivitiesConsumerFunction",
    "email": "EmailConsumerFunction",
    "sms": "SmsConsumerFunction",
    "scanner": "ScannerConsumerFunction",
    "invoicing": "InvoicingConsumerFunction",
    "workflows": "WorkflowsConsumerFunction",
}
# What moves per reference in each service, for each kind of merge (the loaded merge's references).
MOVED = {
    "contact": {
        "activities": "activity",
        "email": "mail",
        "sms": "SMS message",
        "scanner": "ticket",
        "workflows": "run",
    },
    "account": {"invoicing": "sales order", "directory": "contact"},
}
PAGE = 100  # the index Query's page: one Query lists up to 100 references
WORKFLOW_CONDITION = {"field": "department", "op": "equals", "value": "Perf merged"}
TICK = 0.25


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    with started(CountedRuntime(PROJECT_ROOT, {}, stage="dev", port=0, concurrency=2)) as runtime:
        yield runtime


# ----------------------------------------------------------------------------- measuring


def cpu_seconds(stack: CountedRuntime) -> float:
    """User + system CPU of every function worker running now (clock ticks of /proc/<pid>/stat)."""
    assert stack.stack is not None
    total = 0
    for logical_id in stack.stack.functions:
        for pid in stack.worker_pids(logical_id):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    api: Counter[str] = field(default_factory=Counter)
    consumers: dict[str, Counter[str]] = field(default_factory=dict)
    wall: float = 0.0
    cpu: float = 0.0


def by_function(stack: CountedRuntime, before: Counter[tuple[str, str, str]], function: str) -> Counter[str]:
    spent = stack.log.snapshot()[0] - before
    return Counter({f"{service} {op}": n for (name, service, op), n in spent.items() if name == function})


def merge(stack: CountedRuntime, admin: Api, body: dict[str, Any], done: Callable[[], bool]) -> Measured:
    """One merge through the API, polled until `done()`, then drained; its calls by function."""
    drain(stack, timeout=300)
    before = stack.log.snapshot()[0]
    cpu = cpu_seconds(stack)
    started_at = time.perf_counter()
    ok(admin.post("/duplicates/merge", json=body))
    measured = Measured(api=by_function(stack, before, API))
    deadline = started_at + 600
    while not done():
        assert time.perf_counter() < deadline, f"the merge never reached every service: {body}"
        time.sleep(TICK)
    measured.wall = time.perf_counter() - started_at
    measured.cpu = cpu_seconds(stack) - cpu
    drain(stack, timeout=300)
    measured.consumers = {name: by_function(stack, before, fid) for name, fid in CONSUMERS.items()}
    return measured


# ----------------------------------------------------------------------------- the tenant's records


@dataclass
class Office:
    tenant: str
    admin: Api
    box: dict[str, Any]
    workflows: list[str]


def person(n: str, **extra: Any) -> dict[str, Any]:
    """A contact with every field a merged one has (so the survivor takes no value in a merge)."""
    digits = f"{uuid.uuid4().int % 10**7:07d}"
    return {
        "first_name": "Perf",
        "last_name": f"Merge {n}",
        "email": f"{n}.{digits}@perf.example.fi",
        "mobile": f"040 {digits}",
        "department": "Other",
        **extra,
    }


def contact(admin: Api, **fields: Any) -> dict[str, Any]:
    return created(admin.post("/contacts", json=fields))


@pytest.fixture(scope="module")
def office(stack: CountedRuntime) -> Office:
    tenant = f"perf-merge-{uuid.uuid4().hex[:8]}"
    admin = Api(stack, stack.token(tenant, "admin-1", "admin"))
    ok(admin.patch("/sms/settings", json={"active": True}))
    created(admin.post("/sms/credits", json={"credits": REFS + 10}))
    flows = []
    for n in range(REFS):
        body = {
            "name": f"Perf {n}",
            "trigger": {"entity": "contact", "on": "created"},
            "actions": [{"type": "send_email", "template_id": "01J0000000000000000000000"}],
            "status": "active",
            "delay_minutes": 60,
            "conditions": [WORKFLOW_CONDITION],
        }
        flows.append(created(admin.post("/workflows", json=body))["id"])
    return Office(tenant, admin, mailbox(admin), flows)


def count(admin: Api, path: str, **params: Any) -> int:
    return len(walk(admin, path, limit=50, **params))


def _activities(stack: CountedRuntime, office: Office, merged: dict[str, Any]) -> None:
    call = {"type": "call", "subject": "Perf", "start": "2026-03-08T09:00:00Z", "end": "2026-03-08T09:30:00Z"}
    for _ in range(REFS):
        created(office.admin.post("/activities", json={**call, "contact_id": merged["id"]}))


def _email(stack: CountedRuntime, office: Office, merged: dict[str, Any]) -> None:
    for n in range(REFS):
        mail = {"to": merged["email"], "contact_id": merged["id"], "subject": f"M{n}", "html": "<p>x</p>"}
        request_mail(stack, office.tenant, **mail)


def _sms(stack: CountedRuntime, office: Office, merged: dict[str, Any]) -> None:
    sms = {"contact_id": merged["id"], "number_field": "mobile", "text": "Hei"}
    assert settle(stack, lambda: office.admin.post("/sms/messages", json=sms).status_code == 201)
    for _ in range(REFS - 1):
        created(office.admin.post("/sms/messages", json=sms))


def _scanner(stack: CountedRuntime, office: Office, merged: dict[str, Any]) -> None:
    drain(stack, timeout=300)  # the scanner's contacts projection knows the address
    for n in range(REFS):
        raw = bytes(message(office.box["address"], subject=f"Asia {n}", sender=merged["email"]))
        body = {"raw": base64.b64encode(raw).decode()}
        assert office.admin.post(f"/scanner/mailboxes/{office.box['id']}/raw", json=body).status_code == 202


def _workflows(stack: CountedRuntime, office: Office, merged: dict[str, Any]) -> None:
    pass  # the contact itself matches the REFS workflows' condition: a run each


def listed(office: Office, service: str, contact_id: str) -> int:
    """How many references to the contact the service lists (its API)."""
    admin = office.admin
    if service == "workflows":
        return sum(count(admin, f"/workflows/{w}/runs", record_id=contact_id) for w in office.workflows)
    path = {"activities": "/activities", "email": "/email/messages", "sms": "/sms/messages", "scanner": "/tickets"}
    return count(admin, path[service], contact_id=contact_id)


LOADERS = {"activities": _activities, "email": _email, "sms": _sms, "scanner": _scanner, "workflows": _workflows}


def loaded_contact(stack: CountedRuntime, office: Office, service: str) -> dict[str, Any]:
    """A contact with REFS references in one service (and whatever those make elsewhere)."""
    extra = {"department": WORKFLOW_CONDITION["value"]} if service == "workflows" else {}
    merged = contact(office.admin, **person(f"m-{service}", **extra))
    drain(stack, timeout=300)
    LOADERS[service](stack, office, merged)
    found = settle(stack, lambda: listed(office, service, merged["id"]) == REFS, attempts=60, timeout=300, busy_ok=True)
    assert found, (service, listed(office, service, merged["id"]))
    return merged


def contact_done(office: Office, survivor: str, merged: list[str], service: str | None) -> Callable[[], bool]:
    """The service shows the merge: the merged ids answer 301 and its list names the survivor."""

    def done() -> bool:
        if any(office.admin.get(f"/contacts/{m}", allow_redirects=False).status_code != 301 for m in merged):
            return False
        return service is None or listed(office, service, survivor) == REFS

    return done


def account_done(office: Office, survivor: str, merged: str, orders: int, contacts: int) -> Callable[[], bool]:
    admin = office.admin

    def done() -> bool:
        if admin.get(f"/accounts/{merged}", allow_redirects=False).status_code != 301:
            return False
        moved = [o for o in walk(admin, "/sales-orders", limit=50) if o["account_id"] == survivor]
        return len(moved) == orders and count(admin, "/contacts", account_id=survivor) == contacts

    return done


# ----------------------------------------------------------------------------- the benchmark


def per_reference(loaded: Counter[str], bare: Counter[str]) -> tuple[float, Counter[str]]:
    extra = Counter({k: v for k, v in (loaded - bare).items() if v})
    return sum(loaded.values()) / REFS - sum(bare.values()) / REFS, extra


def test_merge_calls_per_request_and_per_moved_reference(stack: CountedRuntime, office: Office) -> None:
    admin = office.admin
    results: dict[str, Measured] = {}

    # Contacts: 1 merged, no references; 3 merged, no references; 1 merged, REFS references each.
    survivor, merged = contact(admin, **person("s0")), contact(admin, **person("m0"))
    body = {"entity": "contacts", "survivor_id": survivor["id"], "merged_ids": [merged["id"]]}
    results["contact, 1 merged"] = merge(stack, admin, body, contact_done(office, survivor["id"], [merged["id"]], None))
    survivor = contact(admin, **person("s1"))
    three = [contact(admin, **person(f"m1{n}"))["id"] for n in range(3)]
    body = {"entity": "contacts", "survivor_id": survivor["id"], "merged_ids": three}
    results["contact, 3 merged"] = merge(stack, admin, body, contact_done(office, survivor["id"], three, None))
    for service in LOADERS:
        survivor = contact(admin, **person(f"s-{service}"))
        loaded = loaded_contact(stack, office, service)
        body = {"entity": "contacts", "survivor_id": survivor["id"], "merged_ids": [loaded["id"]]}
        done = contact_done(office, survivor["id"], [loaded["id"]], service)
        results[f"contact, 1 merged with {REFS} {service} references"] = merge(stack, admin, body, done)

    # Accounts: 1 merged, no references; 1 merged with REFS sales orders and ACCOUNT_CONTACTS contacts.
    fields = {"city": "Turku", "website": "https://perf.example.fi"}
    kept, gone = (created(admin.post("/accounts", json={"name": f"Perf {n} Oy", **fields})) for n in ("a0", "b0"))
    body = {"entity": "accounts", "survivor_id": kept["id"], "merged_ids": [gone["id"]]}
    results["account, 1 merged"] = merge(stack, admin, body, account_done(office, kept["id"], gone["id"], 0, 0))
    kept, gone = (created(admin.post("/accounts", json={"name": f"Perf {n} Oy", **fields})) for n in ("a1", "b1"))
    line = {"description": "Tuki", "quantity": "1", "unit_price": "100.00", "tax_class": "standard"}
    order = {"account_id": gone["id"], "interval": "monthly", "start_date": "2026-01-01", "lines": [line]}
    assert settle(stack, lambda: admin.post("/sales-orders", json=order).status_code == 201)
    for _ in range(REFS - 1):
        created(admin.post("/sales-orders", json=order))
    for n in range(ACCOUNT_CONTACTS):
        contact(admin, first_name="Perf", last_name=f"Staff {n}", account_id=gone["id"])
    body = {"entity": "accounts", "survivor_id": kept["id"], "merged_ids": [gone["id"]]}
    done = account_done(office, kept["id"], gone["id"], REFS, ACCOUNT_CONTACTS)
    results[f"account, 1 merged with {REFS} orders, {ACCOUNT_CONTACTS} contacts"] = merge(stack, admin, body, done)

    report(results)


def api_minimum(merged: int) -> int:
    return 2 + (1 + merged) + 1 + 2 * merged  # settings + rules, the records, the merge, each removal


def report(results: dict[str, Measured]) -> None:
    rows: list[tuple[str, ...]] = []
    for name, measured in results.items():
        merged = 3 if "3 merged" in name else 1
        total, minimum = sum(measured.api.values()), api_minimum(merged)
        rows.append((f"POST /duplicates/merge: {name}", str(total), str(minimum), ""))
        rows.append(("  by operation", "", "", ", ".join(f"{k} {v}" for k, v in sorted(measured.api.items()))))
        if "with" not in name:
            FIGURES.add("v. merges", f"AWS calls of POST /duplicates/merge, {name}", total, f"calls (min {minimum})")
        assert total <= 2 * minimum + 4, measured.api  # a loose bound: the figure is what is reported
    print(render("(v) merges: AWS calls of one POST /duplicates/merge", rows, ("merge", "calls", "minimum", "")))

    rows = []
    for name, loaded in results.items():
        if "with" not in name:
            continue
        entity = "account" if name.startswith("account") else "contact"
        bare = results[f"{entity}, 1 merged"]
        owner = "invoicing" if entity == "account" else name.rsplit(" ", 2)[-2]
        rows.append((name, "", "", "", "", ""))
        for service, fid in CONSUMERS.items():
            base, heavy = bare.consumers[service], loaded.consumers[service]
            extra = Counter({k: v for k, v in (heavy - base).items() if v})
            if service != owner and not (entity == "account" and service == "directory") and not extra:
                continue
            # an account merge's contacts each reach every service as a `contact.updated`: per contact there
            refs = ACCOUNT_CONTACTS if entity == "account" and service != owner else REFS
            per_ref = sum(heavy.values()) / refs - sum(base.values()) / refs
            what = MOVED[entity].get(service)
            minimum = f"{2 + 1 / PAGE:.2f}" if what else ""
            cascade = "moved contact" if entity == "account" else f"{owner} reference"
            note = f"per {what} ({refs})" if what else f"per {cascade} ({refs}): what it moves or takes in turn"
            cells = (str(sum(base.values())), str(sum(heavy.values())), f"{per_ref:.2f}", minimum, note)
            rows.append((f"  {service}", *cells))
            rows.append(("    by operation", "", "", "", "", _per(extra, refs)))
            if what:
                FIGURES.add("v. merges", f"{fid} per {what}", round(per_ref, 2), f"calls (min {minimum})")
    header = ("merge / consumer", "no refs", "with refs", "calls/ref", "minimum/ref", "")
    print(render(f"(v) merges: consumer AWS calls, fixed and per moved reference ({REFS} references)", rows, header))

    rows = [(name, f"{m.wall:.1f}", f"{m.cpu:.1f}") for name, m in results.items()]
    print(render("(v) merges: time until every service shows the merge (polled)", rows, ("merge", "wall s", "CPU s")))
    for name, m in results.items():
        FIGURES.add("v. merges", f"wall until done, {name}", round(m.wall, 1), "s")


def _per(calls: Counter[str], refs: int) -> str:
    return ", ".join(f"{k} {v / refs:.2f}" for k, v in sorted(calls.items()))
