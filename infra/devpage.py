"""The local console page, `/dev` on the gateway of `kontakt dev` (never deployed: only the local
gateway serves it, on loopback, to a Host naming this machine).

One HTML page, one script and one style sheet, no build step and nothing fetched from elsewhere.
The script asks `/dev/api/state` every POLL_MS for each panel's data and draws each panel whose
data changed. A panel is one registration:

    register_panel("webhooks", "Webhook deliveries", collect=lambda runtime: [...], render=None)

`collect(runtime)` gives the panel's data (anything JSON can carry) from the running
`LocalRuntime`; `render` is a JavaScript function expression `(data, h, ui) => Node | Node[] |
string` drawing it, where `h` builds elements from text (never markup: `h.el(tag, attributes,
...children)`, `h.table(columns, rows)`, `h.when(time)`, `h.get(url)`) and `ui` is the panel's own
state across refreshes (`ui.redraw()` draws it again). None draws a list of objects as a table.
The built-in panels below are registered the same way; a later service registers its own
from its own module (imported before the page is asked for), without editing the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer

from infra import dev_mail, dev_webhooks, sms_emulation
from infra.functions import Functions
from infra.schedules import ScheduleRunner
from infra.template import Stack


class LocalRuntime(Protocol):
    """What the panels read of the running stack: infra.runtime.LocalRuntime, which serves this
    page and so is not imported here."""

    stack: Stack | None
    functions: Functions | None
    schedules: ScheduleRunner | None
    webhook_receiver: dev_webhooks.Receiver

    @property
    def mail_dir(self) -> Path | None: ...

    @property
    def sms_dir(self) -> Path: ...

    def events(self, limit: int | None = 50) -> list[dict[str, Any]]: ...

    def cached_client(self, service: str) -> Any: ...


POLL_MS = 1500
EVENTS_SHOWN = 30
MAILS_SHOWN = 20
SMS_SHOWN = 30
TICKETS_SHOWN = 30
INVOICES_SHOWN = 30
WORKFLOW_RUNS_SHOWN = 30
AUDIT_SHOWN = 30
INVOCATIONS_SHOWN = 30
WEBHOOKS_SHOWN = 30
DUPLICATES_SHOWN = 20
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")

# Scripts and styles of this origin only (no inline script), data from /dev/api/state, mail HTML
# from /dev/mail/<file>/html (itself served with `Content-Security-Policy: sandbox`) in an iframe
# sandboxed without allow-scripts.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    collect: Callable[[LocalRuntime], Any]
    render: str | None = None


_PANELS: dict[str, Panel] = {}


def register_panel(name: str, title: str, collect: Callable[[LocalRuntime], Any], render: str | None = None) -> Panel:
    """Add a panel to the page (after the ones registered before it); a name registered again is
    replaced in place. `name`: lowercase letters, digits and dashes."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"panel name {name!r}: lowercase letters, digits and dashes, starting with a letter")
    panel = Panel(name, title, collect, render)
    _PANELS[name] = panel
    return panel


def unregister_panel(name: str) -> None:
    _PANELS.pop(name, None)


def panels() -> list[Panel]:
    return list(_PANELS.values())


def state(runtime: LocalRuntime) -> dict[str, Any]:
    """Every panel's data, as /dev/api/state answers it; a panel whose collect fails shows why."""
    shown = []
    for panel in panels():
        entry: dict[str, Any] = {"name": panel.name, "title": panel.title}
        try:
            entry["data"] = json.loads(json.dumps(panel.collect(runtime), default=str))
        except Exception as error:  # one broken panel must not blank the page
            entry["error"] = f"{type(error).__name__}: {error}"
        shown.append(entry)
    return {"time": _iso(datetime.now(UTC)), "poll_ms": POLL_MS, "panels": shown}


def script() -> str:
    """The page's script: its helpers, then each panel's render function."""
    renders = "".join(f"K.renders[{json.dumps(p.name)}] = ({p.render});\n" for p in panels() if p.render is not None)
    return _SCRIPT + renders + "K.start();\n"


def html() -> str:
    return _HTML


def css() -> str:
    return _CSS


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(seconds: float) -> str:
    return _iso(datetime.fromtimestamp(seconds, UTC))


# ---------------------------------------------------------------- the built-in panels


def _events(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The last events on the bus, newest first, each with its consumers' deliveries."""
    kept = runtime.functions.console.kept if runtime.functions and runtime.functions.console else None
    rows = []
    for event in runtime.events(EVENTS_SHOWN):
        detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
        envelope_id = str(detail.get("id") or "")
        deliveries = kept.deliveries(str(event.get("id") or ""), envelope_id) if kept else []
        time = event.get("time")
        rows.append(
            {
                "time": _epoch(time) if isinstance(time, int | float) else str(time or ""),
                "type": str(event.get("detail-type", "")),
                "source": str(event.get("source", "")),
                "tenant": str(detail.get("tenant_id") or ""),
                "id": envelope_id or str(event.get("id", "")),
                "consumers": [
                    {"function": d.function, "outcome": d.outcome, "ms": d.ms, "cold": d.cold, "at": _epoch(d.at)}
                    for d in deliveries
                ],
            }
        )
    return rows


_EVENTS_RENDER = """(data, h) => data.length === 0 ? h.el("p", {class: "empty"}, "No event on the bus yet.") :
  h.table(["time", "type", "tenant", "id", "consumers"], data.map((e) => ({
    time: h.when(e.time), type: e.type, tenant: e.tenant, id: e.id,
    consumers: e.consumers.length === 0 ? h.el("span", {class: "muted"}, "none (yet)") :
      e.consumers.map((c) => h.el("span", {class: "delivery " + c.outcome, title: c.at},
        c.function + " " + c.outcome + " " + Math.round(c.ms) + " ms" + (c.cold ? " cold" : ""))),
  })))"""


def _invocations(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The console's last lines (infra/console.py), newest first, with the errors under them."""
    kept = runtime.functions.console.kept if runtime.functions and runtime.functions.console else None
    return [
        {
            "time": _epoch(i.at),
            "function": i.function,
            "what": i.what,
            "status": i.status,
            "ms": i.ms,
            "cold": i.cold,
            "errors": list(i.errors),
        }
        for i in (kept.invocations(INVOCATIONS_SHOWN) if kept else [])
    ]


_INVOCATIONS_RENDER = """(data, h) => data.length === 0 ? h.el("p", {class: "empty"}, "No invocation yet.") :
  h.table(["time", "function", "what", "status", "ms"], data.map((i) => ({...i, time: h.when(i.time),
    ms: Math.round(i.ms) + (i.cold ? " cold" : ""),
    what: [i.what, i.errors.map((e) => h.el("div", {class: "error"}, e))],
    _class: i.errors.length || /failed|^5/.test(i.status) ? "failed" : ""})))"""


def _mail(runtime: LocalRuntime) -> dict[str, Any]:
    folder = runtime.mail_dir
    if folder is None:
        return {"folder": None, "mails": []}
    mails = [{k: v for k, v in m.items() if k != "path"} for m in dev_mail.listing(folder, MAILS_SHOWN)]
    return {"folder": str(folder), "mails": mails}


_MAIL_RENDER = """(data, h, ui) => {
  if (data.folder === null) return h.el("p", {class: "empty"}, "Mail is not kept: start with a mail folder.");
  if (data.mails.length === 0) return h.el("p", {class: "empty"}, "No mail sent yet.");
  const chosen = data.mails.find((m) => m.file === ui.chosen) || data.mails[0];
  const link = "/dev/mail/" + encodeURIComponent(chosen.file);
  const rows = data.mails.map((m) => ({time: h.when(m.time), to: m.to, subject: m.subject,
    _class: m === chosen ? "chosen" : "", _click: () => { ui.chosen = m.file; ui.redraw(); }}));
  const source = h.el("pre", {class: "mail-source"}, "loading ...");
  h.get(link).then((text) => { source.textContent = text; }, (error) => { source.textContent = String(error); });
  return [
    h.table(["time", "to", "subject"], rows),
    h.el("h3", {}, chosen.subject, " ", h.el("a", {href: link + "?download=1"}, ".eml")),
    h.el("iframe", {class: "mail-html", sandbox: "", referrerpolicy: "no-referrer", title: "mail as sent",
      src: link + "/html"}),
    h.el("details", {open: ""}, h.el("summary", {}, "raw source"), source),
  ];
}"""


def _sms(runtime: LocalRuntime) -> list[dict[str, Any]]:
    return sms_emulation.listing(runtime.sms_dir, SMS_SHOWN)


_SMS_RENDER = """(data, h) => data.length === 0 ? h.el("p", {class: "empty"}, "No SMS sent yet.") :
  h.table(["time", "to", "from", "type", "text"], data.map((m) => ({...m, time: h.when(m.time)})))"""


def _records(
    runtime: LocalRuntime, table: str, kinds: tuple[str, ...]
) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(tenant, kind, id, data) of every record of these kinds in a service's table (its logical id):
    a scan, as a local table is small and the page asks only while it is open. Nothing when the
    stack has no such table."""
    if runtime.stack is None or table not in runtime.stack.tables:
        return
    names = {f":k{n}": {"S": kind} for n, kind in enumerate(kinds)}
    pages = (
        runtime.cached_client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=runtime.stack.tables[table].name,
            FilterExpression=f"kind IN ({', '.join(names)})",
            ExpressionAttributeValues=names,
            ProjectionExpression="pk, kind, #data",
            ExpressionAttributeNames={"#data": "data"},
        )
    )
    read = TypeDeserializer()
    for page in pages:
        for item in page.get("Items", []):
            parts = str(item["pk"]["S"]).split("#")  # T#<tenant>#<KIND>#<id>
            data = read.deserialize(item["data"]) if "data" in item else {}
            yield parts[1], item["kind"]["S"], "#".join(parts[3:]), data


def _newest(rows: list[dict[str, Any]], shown: int) -> list[dict[str, Any]]:
    rows.sort(key=lambda row: str(row["time"] or ""), reverse=True)
    return rows[:shown]


def _sms_inbound(runtime: LocalRuntime) -> dict[str, list[dict[str, Any]]]:
    """What the sms service stored of inbound SMS, newest first: the messages (with the contact each
    was matched to) and the numbers opted out now (an opt-in removes its row)."""
    shown: dict[str, list[dict[str, Any]]] = {"inbound": [], "opt_outs": []}
    for tenant, kind, _, data in _records(runtime, "SmsTable", ("inbound", "opt_out")):
        if kind == "inbound":
            shown["inbound"].append(
                {
                    "time": data.get("received_at"),
                    "tenant": tenant,
                    "from": data.get("number"),
                    "text": data.get("text"),
                    "contact": data.get("contact_id") or "",
                }
            )
        else:
            shown["opt_outs"].append(
                {
                    "time": data.get("opted_out_at"),
                    "tenant": tenant,
                    "number": data.get("number"),
                    "keyword": data.get("keyword"),
                    "contact": data.get("contact_id") or "",
                }
            )
    return {name: _newest(rows, SMS_SHOWN) for name, rows in shown.items()}


_SMS_INBOUND_RENDER = """(data, h) => [
  h.el("h3", {}, "Inbound messages"),
  data.inbound.length === 0 ? h.el("p", {class: "empty"}, "No inbound SMS yet.") :
    h.table(["time", "tenant", "from", "text", "contact"], data.inbound.map((m) => ({...m, time: h.when(m.time)}))),
  h.el("h3", {}, "Opted out"),
  data.opt_outs.length === 0 ? h.el("p", {class: "empty"}, "No number opted out.") :
    h.table(["time", "tenant", "number", "keyword", "contact"],
      data.opt_outs.map((o) => ({...o, time: h.when(o.time)}))),
]"""


def _queues(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """Each queue: its consumer, its depth, its dead letters. A redrive dead-letter queue is counted
    in its queue's row; a stream's on-failure queue (its failed batches) is a row of dead letters."""
    stack = runtime.stack
    if stack is None:
        return []
    sqs = runtime.cached_client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    redrive_targets = {q.dlq_arn for q in stack.queues.values() if q.dlq_arn}
    on_failure = {m.on_failure_arn: m.function for m in stack.mappings.values() if m.on_failure_arn}

    def count(url: str) -> dict[str, int]:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names).get("Attributes", {})
        return {name: int(attributes.get(name, 0)) for name in names}

    rows = []
    for queue in sorted(stack.queues.values(), key=lambda q: q.name):
        if queue.arn in redrive_targets:
            continue
        depth = count(queue.url)
        dead: dict[str, int] | None
        if queue.arn in on_failure:
            consumer, dead, dlq_name = f"(failed batches of {on_failure[queue.arn]})", depth, queue.name
            depth = dict.fromkeys(names, 0)
        else:
            consumers = [m.function for m in stack.mappings.values() if m.kind == "sqs" and m.source_arn == queue.arn]
            dlq = stack.queue_by_arn(queue.dlq_arn) if queue.dlq_arn else None
            consumer = ", ".join(consumers) or "(none)"
            dead, dlq_name = (count(dlq.url), dlq.name) if dlq else (None, "")
        rows.append(
            {
                "queue": queue.name,
                "consumer": consumer,
                "waiting": depth["ApproximateNumberOfMessages"],
                "in flight": depth["ApproximateNumberOfMessagesNotVisible"],
                "dead letters": sum(dead.values()) if dead is not None else "",
                "dead-letter queue": dlq_name,
            }
        )
    return rows


_QUEUES_RENDER = """(data, h) => h.table(["queue", "consumer", "waiting", "in flight", "dead letters",
  "dead-letter queue"], data.map((q) => ({...q, _class: q["dead letters"] > 0 ? "failed" : ""})))"""


def _webhooks_received(runtime: LocalRuntime) -> list[dict[str, Any]]:
    return runtime.webhook_receiver.listing(WEBHOOKS_SHOWN)


_WEBHOOKS_RENDER = """(data, h) => data.length === 0 ?
  h.el("p", {class: "empty"}, "Nothing received yet: POST /dev/webhooks/<name> (the demo endpoint's URL)") :
  h.table(["time", "name", "type", "status", "webhook-id", "body"], data.map((r) => ({time: h.when(r.time),
    name: r.name, type: r.type, status: r.status, "webhook-id": r.headers["webhook-id"] || "",
    body: r.body.length > 120 ? r.body.slice(0, 120) + "..." : r.body})))"""


def _webhook_deliveries(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The webhooks service's messages, newest first: each event for each endpoint, where its
    delivery stands (services/webhooks/messages.py's records), with the endpoint's URL."""
    urls: dict[tuple[str, str], str] = {}
    messages = []
    for tenant, kind, record_id, data in _records(runtime, "WebhooksTable", ("endpoint", "message")):
        if kind == "endpoint":
            urls[(tenant, record_id)] = str(data.get("url", ""))
        else:
            messages.append((tenant, record_id, data))
    rows = [
        {
            "time": data.get("created_at"),
            "tenant": tenant,
            "type": data.get("event_type"),
            "endpoint": urls.get((tenant, str(data.get("endpoint_id"))), "(deleted)"),
            "status": data.get("status"),
            "attempts": int(data.get("attempts", 0)),
            "answer": int(data["last_status_code"]) if data.get("last_status_code") is not None else "",
            "reason": data.get("reason") or "",
            "webhook-id": record_id,
        }
        for tenant, record_id, data in messages
    ]
    return _newest(rows, WEBHOOKS_SHOWN)


_DELIVERIES_RENDER = """(data, h) => data.length === 0 ?
  h.el("p", {class: "empty"}, "No webhook message yet: add an endpoint, then change a contact") :
  h.table(["time", "tenant", "type", "endpoint", "status", "attempts", "answer", "reason", "webhook-id"],
    data.map((m) => ({...m, time: h.when(m.time)})))"""


def _tickets(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The scanner's tickets, newest first (services/scanner/tickets.py's records)."""
    rows = [
        {
            "time": data.get("created_at"),
            "tenant": tenant,
            "number": int(data.get("number", 0)),
            "subject": data.get("subject"),
            "from": data.get("requester_email") or "",
            "status": data.get("status"),
            "articles": int(data.get("article_count", 0)),
        }
        for tenant, _, _, data in _records(runtime, "ScannerTable", ("ticket",))
    ]
    return _newest(rows, TICKETS_SHOWN)


_TICKETS_RENDER = """(data, h) => data.length === 0 ?
  h.el("p", {class: "empty"}, "No ticket yet: mail a mailbox's address through the SMTP listener the banner names") :
  h.table(["time", "tenant", "number", "subject", "from", "status", "articles"],
    data.map((t) => ({...t, time: h.when(t.time)})))"""


def _invoices(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The invoicing service's invoices, newest first (services/invoicing/invoices.py's records), with
    a link to the PDF once the consumer has rendered it (presigned, as `GET /invoices/{id}` answers)."""
    bucket = runtime.stack.buckets.get("InvoicingDocumentsBucket") if runtime.stack is not None else None
    rows = []
    for tenant, _, record_id, data in _records(runtime, "InvoicingTable", ("invoice",)):
        keys = data.get("document_keys") or {}
        pdf = ""
        if bucket is not None and keys.get("pdf"):
            params = {"Bucket": bucket.name, "Key": keys["pdf"]}
            pdf = runtime.cached_client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
        totals = data.get("totals") or {}
        rows.append(
            {
                "time": data.get("created_at"),
                "tenant": tenant,
                "number": data.get("number") or "(draft)",
                "customer": data.get("customer_name") or data.get("account_id"),
                "status": data.get("status"),
                "total": f"{totals.get('gross', '')} {data.get('currency', '')}".strip(),
                "due": data.get("due_date") or "",
                "pdf": pdf,
                "id": record_id,
            }
        )
    return _newest(rows, INVOICES_SHOWN)


_INVOICES_RENDER = """(data, h) => data.length === 0 ?
  h.el("p", {class: "empty"}, "No invoice yet: activate a sales order, then POST /invoicing/runs") :
  h.table(["time", "tenant", "number", "customer", "status", "total", "due", "pdf"],
    data.map((i) => ({...i, time: h.when(i.time), pdf: i.pdf ? h.el("a", {href: i.pdf}, i.number + ".pdf") : ""})))"""


def _workflow_runs(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The workflows service's runs, newest first (services/workflows/runs.py's records), with the
    workflow's name: which record each event enrolled, and what each step asked for or why it stopped."""
    names: dict[tuple[str, str], str] = {}
    runs = []
    for tenant, kind, record_id, data in _records(runtime, "WorkflowsTable", ("workflow", "run")):
        if kind == "workflow":
            names[(tenant, record_id)] = str(data.get("name", ""))
        else:
            runs.append((tenant, record_id, data))
    rows = [
        {
            "time": data.get("started_at"),
            "tenant": tenant,
            "workflow": names.get((tenant, str(data.get("workflow_id"))), "(deleted)"),
            "record": f"{data.get('entity')} {data.get('record_id')}",
            "event": (data.get("event") or {}).get("type"),
            "status": data.get("status"),
            "steps": ", ".join(f"{s.get('type')} {s.get('outcome')}" for s in data.get("steps") or []),
            "reason": data.get("reason") or "",
            "id": record_id,
        }
        for tenant, record_id, data in runs
    ]
    return _newest(rows, WORKFLOW_RUNS_SHOWN)


_WORKFLOW_RUNS_RENDER = """(data, h) => data.length === 0 ?
  h.el("p", {class: "empty"}, "No workflow run yet: POST /workflows (active), then create or change a contact") :
  h.table(["time", "tenant", "workflow", "record", "event", "status", "steps", "reason"],
    data.map((r) => ({...r, time: h.when(r.time)})))"""


def _recent_audit(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The audit trail's newest records (services/audit/trail.py's items: the record is their `body`):
    who changed what, from where. A scan, as `_records`: only while the page is open."""
    if runtime.stack is None or "AuditTable" not in runtime.stack.tables:
        return []
    pages = (
        runtime.cached_client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=runtime.stack.tables["AuditTable"].name,
            FilterExpression="kind = :k",
            ExpressionAttributeValues={":k": {"S": "audit"}},
            ProjectionExpression="pk, body",
        )
    )
    rows = []
    for page in pages:
        for item in page.get("Items", []):
            record = json.loads(item["body"]["S"])
            actor, origin = record.get("actor") or {}, record.get("origin") or {}
            changes = record.get("changes") or []
            rows.append(
                {
                    "time": record.get("occurred_at"),
                    "tenant": str(item["pk"]["S"]).split("#")[1],
                    "event": record.get("type"),
                    "entity": f"{record.get('entity_type')} {record.get('entity_id')}",
                    "who": f"{actor.get('type')} {actor.get('id')}",
                    "from": origin.get("ip") or "",
                    "changes": ", ".join(f"{c.get('field')}: {c.get('old')} -> {c.get('new')}" for c in changes)[:200],
                    "correlation": record.get("correlation_id"),
                }
            )
    return _newest(rows, AUDIT_SHOWN)


_AUDIT_RENDER = """(data, h) => data.length === 0 ?
  h.el("p", {class: "empty"}, "No audit record yet: change a contact") :
  h.table(["time", "tenant", "event", "entity", "who", "from", "changes", "correlation"],
    data.map((r) => ({...r, time: h.when(r.time)})))"""


def _duplicates(runtime: LocalRuntime) -> dict[str, list[dict[str, Any]]]:
    """The directory's duplicate scans and merges, newest first (services/directory/duplicate_scans.py's
    scan records; a merge is its markers, one per merged id, services/directory/merges.py)."""
    scans: list[dict[str, Any]] = []
    merges: dict[tuple[str, str], dict[str, Any]] = {}
    kinds = ("duplicate_scan", "merged_contact", "merged_account")
    for tenant, kind, record_id, data in _records(runtime, "DirectoryTable", kinds):
        if kind == "duplicate_scan":
            scans.append(
                {
                    "time": data.get("requested_at"),
                    "tenant": tenant,
                    "entity": data.get("entity"),
                    "state": data.get("state"),
                    "records read": int(data.get("records_read", 0)),
                    "groups found": int(data.get("groups_found", 0)),
                    "finished": data.get("finished_at") or "",
                    "error": data.get("error") or "",
                    "id": record_id,
                }
            )
            continue
        merge = merges.setdefault(
            (tenant, str(data.get("merge_id"))),
            {
                "time": data.get("merged_at"),
                "tenant": tenant,
                "entity": kind.removeprefix("merged_") + "s",
                "survivor": data.get("survivor_id"),
                "merged": [],
                "id": data.get("merge_id"),
            },
        )
        merge["merged"].append(record_id)
    for merge in merges.values():
        merge["merged"].sort()
    return {"scans": _newest(scans, DUPLICATES_SHOWN), "merges": _newest(list(merges.values()), DUPLICATES_SHOWN)}


_DUPLICATES_RENDER = """(data, h) => [
  h.el("h3", {}, "Scans"),
  data.scans.length === 0 ? h.el("p", {class: "empty"}, "No scan yet: POST /duplicates/scans as an admin") :
    h.table(["time", "tenant", "entity", "state", "records read", "groups found", "finished", "error"],
      data.scans.map((s) => ({...s, time: h.when(s.time), finished: s.finished ? h.when(s.finished) : "",
        _class: s.state === "failed" ? "failed" : ""}))),
  h.el("h3", {}, "Merges"),
  data.merges.length === 0 ? h.el("p", {class: "empty"}, "No merge yet: POST /duplicates/merge") :
    h.table(["time", "tenant", "entity", "survivor", "merged"],
      data.merges.map((m) => ({...m, time: h.when(m.time), merged: m.merged.join(", ")}))),
]"""


def _api_keys(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """The access service's API keys, newest first (services/access/keys.py's records): never a
    secret (only its hash is kept, and not shown)."""
    rows = [
        {
            "time": data.get("created_at"),
            "tenant": tenant,
            "name": data.get("name"),
            "prefix": data.get("prefix"),
            "status": data.get("status"),
            "role": data.get("role"),
            "permissions": ", ".join(data.get("permissions") or []),
            "ips": ", ".join(data.get("allowed_ips") or []) or "any",
        }
        for tenant, _, _, data in _records(runtime, "AccessTable", ("apikey",))
    ]
    return _newest(rows, TICKETS_SHOWN)


_API_KEYS_RENDER = """(data, h) => data.length === 0 ?
  h.el("p", {class: "empty"}, "No API key yet: POST /api-keys as an admin") :
  h.table(["time", "tenant", "name", "prefix", "status", "role", "permissions", "ips"],
    data.map((k) => ({...k, time: h.when(k.time)})))"""


def _schedules(runtime: LocalRuntime) -> list[dict[str, Any]]:
    return runtime.schedules.upcoming() if runtime.schedules is not None else []


_SCHEDULES_RENDER = """(data, h) => data.length === 0 ? h.el("p", {class: "empty"}, "No schedule.") :
  h.table(["name", "expression", "target", "next"], data.map((s) => ({...s,
    next: s.enabled ? (s.next ? h.when(s.next, true) : "never again") : "disabled"})))"""


register_panel("events", "Events on the bus", _events, _EVENTS_RENDER)
register_panel("mail", "Sent mail", _mail, _MAIL_RENDER)
register_panel("sms", "Sent SMS", _sms, _SMS_RENDER)
register_panel("sms-inbound", "Inbound SMS and opt-outs", _sms_inbound, _SMS_INBOUND_RENDER)
register_panel("webhooks", "Webhook deliveries", _webhook_deliveries, _DELIVERIES_RENDER)
register_panel("webhooks-received", "Webhooks received (/dev/webhooks)", _webhooks_received, _WEBHOOKS_RENDER)
register_panel("tickets", "Tickets (the email scanner)", _tickets, _TICKETS_RENDER)
register_panel("invoices", "Invoices", _invoices, _INVOICES_RENDER)
register_panel("workflow-runs", "Workflow runs", _workflow_runs, _WORKFLOW_RUNS_RENDER)
register_panel("duplicates", "Duplicates (scans and merges)", _duplicates, _DUPLICATES_RENDER)
register_panel("audit", "Recent audit", _recent_audit, _AUDIT_RENDER)
register_panel("api-keys", "API keys", _api_keys, _API_KEYS_RENDER)
register_panel("queues", "Queues", _queues, _QUEUES_RENDER)
register_panel("schedules", "Scheduled jobs", _schedules, _SCHEDULES_RENDER)
register_panel("invocations", "Invocations (the console's lines)", _invocations, _INVOCATIONS_RENDER)


# ---------------------------------------------------------------- the page

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kontakt dev</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><link rel="stylesheet" href="/dev/page.css">
<script src="/dev/page.js" defer></script></head>
<body><header><h1>Kontakt dev</h1><span id="status">loading ...</span></header>
<main id="panels"></main></body></html>
"""

_CSS = """body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #f6f6f4; }
header { display: flex; gap: 1em; align-items: baseline; padding: 0.5em 1em; background: #234; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; }
#status { opacity: 0.8; font-size: 0.9em; }
#status.stale { color: #fb4; opacity: 1; }
main { padding: 0.5em 1em; }
section { background: #fff; border: 1px solid #ddd; border-radius: 4px; margin: 0 0 1em; padding: 0.5em 1em; }
section h2 { font-size: 1.05em; margin: 0.2em 0 0.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { font-weight: 600; color: #555; }
tr.clickable { cursor: pointer; }
tr.chosen { background: #eef4ff; }
tr.failed td, .delivery.failed, .error { color: #b00; }
.delivery { display: inline-block; margin-right: 0.8em; white-space: nowrap; }
.delivery.delivered { color: #070; }
.empty, .muted { color: #888; }
iframe.mail-html { width: 100%; height: 420px; border: 1px solid #ccc; background: #fff; }
pre.mail-source { max-height: 300px; overflow: auto; background: #f3f3f3; padding: 0.5em; font-size: 12px; }
"""

_SCRIPT = """"use strict";
// The /dev page (infra/devpage.py): every panel's data from /dev/api/state, drawn as text only.
const h = {
  el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (typeof value === "function") node.addEventListener(name.replace(/^on/, ""), value);
      else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
    }
    h.append(node, children);
    return node;
  },
  append(node, children) {
    for (const child of [children].flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },
  // columns: names of the rows' fields; a row's _class and _click style it and make it clickable
  table(columns, rows) {
    const head = h.el("tr", {}, columns.map((c) => h.el("th", {}, c)));
    const body = rows.map((row) => h.el("tr", {
      class: [row._class || "", row._click ? "clickable" : ""].join(" ").trim(), onclick: row._click || null},
      columns.map((c) => h.el("td", {"data-column": c}, h.cell(row[c])))));
    return h.el("table", {}, h.el("thead", {}, head), h.el("tbody", {}, body));
  },
  cell(value) {
    if (value instanceof Node || Array.isArray(value)) return value;
    if (value === null || value === undefined) return "";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  },
  // a time as the browser's local time, with how long ago (or, ahead, how long until)
  when(text, ahead) {
    const moment = new Date(text);
    if (isNaN(moment)) return String(text || "");
    const seconds = Math.round((moment - Date.now()) / 1000) * (ahead ? 1 : -1);
    const span = Math.abs(seconds) < 90 ? Math.abs(seconds) + " s" : Math.abs(seconds) < 5400 ?
      Math.round(Math.abs(seconds) / 60) + " min" : Math.round(Math.abs(seconds) / 3600) + " h";
    const label = ahead ? (seconds >= 0 ? "in " + span : span + " late") : span + " ago";
    return h.el("time", {datetime: text, title: text}, moment.toLocaleTimeString() + " (" + label + ")");
  },
  async get(url) {
    const response = await fetch(url, {cache: "no-store"});
    if (!response.ok) throw new Error(url + ": " + response.status);
    return response.text();
  },
};

const K = {
  renders: {},
  shown: {},  // per panel: the data drawn last (as JSON) and its ui state
  table(data) {
    if (Array.isArray(data) && data.length > 0 && data.every((r) => r && typeof r === "object" && !Array.isArray(r))) {
      return h.table(Object.keys(data[0]), data);
    }
    if (Array.isArray(data) && data.length === 0) return h.el("p", {class: "empty"}, "Nothing yet.");
    return h.el("pre", {}, JSON.stringify(data, null, 2));
  },
  section(panel) {
    let section = document.getElementById("panel-" + panel.name);
    if (!section) {
      section = h.el("section", {id: "panel-" + panel.name}, h.el("h2", {}, panel.title), h.el("div", {class: "body"}));
      document.getElementById("panels").append(section);
    }
    return section;
  },
  draw(panel) {
    const section = K.section(panel);
    const seen = K.shown[panel.name] || (K.shown[panel.name] = {ui: {}});
    const text = JSON.stringify(panel.error !== undefined ? {error: panel.error} : {data: panel.data});
    if (seen.text === text) return;
    seen.text = text;
    seen.ui.redraw = () => { seen.text = undefined; K.draw(panel); };
    const body = section.querySelector(".body");
    let drawn;
    try {
      drawn = panel.error !== undefined ? h.el("p", {class: "error"}, "collect failed: " + panel.error) :
        (K.renders[panel.name] || K.table)(panel.data, h, seen.ui);
    } catch (error) {
      drawn = h.el("p", {class: "error"}, "render failed: " + error);
    }
    body.replaceChildren();
    h.append(body, drawn);
  },
  async refresh() {
    const status = document.getElementById("status");
    try {
      const response = await fetch("/dev/api/state", {cache: "no-store"});
      if (!response.ok) throw new Error("/dev/api/state: " + response.status);
      const state = await response.json();
      for (const panel of state.panels) K.draw(panel);
      status.textContent = "updated " + new Date(state.time).toLocaleTimeString();
      status.className = "";
      K.poll = state.poll_ms || K.poll;
    } catch (error) {
      status.textContent = "cannot reach kontakt dev (" + error.message + "), trying again";
      status.className = "stale";
    }
    setTimeout(K.refresh, K.poll);
  },
  poll: 1500,
  start() { K.refresh(); },
};
"""
