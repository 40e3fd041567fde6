"""Billing runs: recurring billing in arrears (issue 22, items 3-5).

A run bills, as of a day, every period of the tenant's active (and ended) sales orders that has
ended before that day and was not billed yet (`periods.ended_periods` after the order's
`billed_through`): after downtime every missed period once, in order. Each period's lines come
from `billing.lines_for_period` (split at tax-rate changes, a partial period prorated or billed
whole per the tenant's `partial_periods`). One invoice per (order, period); a customer that is
`consolidated` (or a run asked `consolidated`) gets one invoice per currency for all its due
periods, the lines grouped by order (`order_reference`, the order's number).

Never twice: the transaction that writes an invoice also puts one `billed_period` record per
(order, period start) on the condition that none exists (`store.add`), and moves the order's
`billed_through` on the order's version. Whatever retries, reruns, overlapping runs or crashes
happen, a period's second invoice fails its transaction as a whole: the loser re-reads the orders,
drops what is billed (`already_billed`) and tries the rest once more.

A run is asynchronous and chunked, so that no invocation holds a whole run (10,000 orders took
about 625 s in one function, past API Gateway's 29 s and close to Lambda's 900 s):
`POST /invoicing/runs` records the run (`queued`) and puts its first chunk on the jobs queue,
answering 202 with the run and its Location; the jobs function bills a chunk (`run_chunk`: a page
of at most RUN_CHUNK_ORDERS sales orders from the `by_type` index, after the chunk before's last
id, with a consolidated customer's other orders pulled in so its periods share one invoice), adds
the chunk's counts to the run and queues the next chunk. The chunks of a run go one after
another (a chain: each names the next's cursor); runs of several tenants go side by side.

The run record (kind "invoicing_run") is a report, not a guard. Each invoice's transaction adds
its invoice and periods to the run's counts (exact whatever crashes: the transaction that writes an
invoice counts it). A chunk is recorded by one update on the condition that the run has recorded
exactly the chunks before it (`chunks_done`), which also names the next chunk's cursor
(`next_after`). A chunk delivered twice: recorded already, it bills nothing (its orders'
`billed_through` moved) and queues the next chunk again only if that one has not run (a crash
between "chunk recorded" and "next queued" is healed by the redelivery); a chunk whose delivery
died before its record bills, delivered again, what is still due; of two deliveries at once, the
one whose record loses queues nothing (the winner queues the next), so twins do not run down the
chain. The last chunk (no order after
its page) marks the run `done`; a run that could not be queued is `failed`.

Runs: `POST /invoicing/runs` (admins, as of a day not in the future), `POST /invoicing/runs/preview`
(the same plan, a page of orders at a time with a cursor, nothing written), and the daily schedule (template.yaml
`InvoicingDailySchedule` -> the jobs queue -> `invoicing.daily`): it finds the tenants with an
order due through the kernel's due index (an active order is listed at the day after its next
period ends, shared/due.py) and queues a run for each, chunked like any other.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from services.invoicing import customers, invoices, tax_classes
from services.invoicing.domain.billing import BillingError, OrderLine, lines_for_period
from services.invoicing.domain.document import DocumentLine
from services.invoicing.domain.invoices import (
    BilledPeriod,
    PlannedInvoice,
    Run,
    RunCreate,
    RunPreview,
    RunProblem,
    TotalsOut,
)
from services.invoicing.domain.periods import Period, Schedule, ended_periods, periods
from services.invoicing.domain.vat import TaxRate, rates_from_history, totals, vat_breakdown
from services.invoicing.service import INVOICES, RUNS, Caller, service_caller
from services.invoicing.settings import InvoicingSettings
from services.invoicing.store import Record
from services.invoicing.subscriptions import job
from shared import clock, due
from shared.errors import NotFound, ValidationFailed
from shared.ids import new_id
from shared.observability import logger
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.permissions import Action
from shared.service import model_of, partition_page
from shared.settings import load
from shared.store import ConcurrentUpdate, UnitOfWork, tenant_key, update_if
from shared.subscriptions import Job

RUN = "invoicing_run"
CLAIM = "billed_period"  # one per (sales order, period start): the store's guard against a second invoice
SALES_ORDER = "sales_order"
BILLED = ("active", "ended")  # the statuses whose periods are billed
MAX_PERIODS_PER_INVOICE = 40  # a transaction holds at most 100 items: claims, orders, the invoice, events
ATTEMPTS = 3
CHUNK_JOB = "invoicing.run"  # one chunk of a run (`run_chunk`)
FINISHED = ("done", "failed")
MAX_PROBLEMS = 50  # a run's record keeps the first ones (an item holds at most 400 KB)


@dataclass
class Item:
    order: Record
    period: Period
    lines: list[DocumentLine]


@dataclass
class Group:
    """The (order, period) items that go on one invoice."""

    account_id: str
    customer_name: str | None
    currency: str
    items: list[Item] = field(default_factory=list)

    @property
    def lines(self) -> list[DocumentLine]:
        return [line for item in self.items for line in item.lines]

    def billed(self) -> list[BilledPeriod]:
        return [
            BilledPeriod(
                order_id=i.order.record_id, order_number=i.order.data["number"], start=i.period.start, end=i.period.end
            )
            for i in self.items
        ]


@dataclass
class Outcome:
    """What billing a chunk's groups did."""

    made: int = 0
    periods: int = 0
    already: int = 0
    problems: list[RunProblem] = field(default_factory=list)


@dataclass
class Plan:
    orders_seen: int = 0
    groups: list[Group] = field(default_factory=list)
    problems: list[RunProblem] = field(default_factory=list)


def _rates(caller: Caller) -> dict[str, list[TaxRate]]:
    return {code: rates_from_history(item["rates"]) for code, item in tax_classes.classes_by_code(caller).items()}


def _schedule(data: dict[str, Any]) -> Schedule:
    end = data.get("end_date")
    return Schedule(
        frequency=data["interval"],
        start=date.fromisoformat(data["start_date"]),
        end=date.fromisoformat(end) if end else None,
    )


def _order_lines(data: dict[str, Any]) -> list[OrderLine]:
    return [
        OrderLine(
            product_code=None,
            description=line.get("description") or "-",
            quantity=Decimal(str(line["quantity"])),
            unit=line.get("unit") or "",
            unit_price=Decimal(str(line["unit_price"])),
            discount_percent=Decimal(str(line.get("discount_percent") or 0)),
            tax_class=line["tax_class"],
            credit=bool(line.get("credit")),
        )
        for line in data.get("lines", [])
    ]


def _billed_through(data: dict[str, Any]) -> date | None:
    value = data.get("billed_through")
    return date.fromisoformat(value) if value else None


def next_due(data: dict[str, Any]) -> str | None:
    """When the order next falls due (the day after its next unbilled period ends), for the due
    index; None when it has no period left to bill."""
    if data.get("status") not in BILLED:
        return None
    billed = _billed_through(data)
    for period in periods(_schedule(data)):
        if billed is None or period.end > billed:
            return clock.iso(datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=clock.UTC))
    return None


def _plan_page(caller: Caller, page: list[Record], as_of: date, consolidated: bool, after: str | None = None) -> Plan:
    """What a run bills of one page of the tenant's sales orders (a run's chunk, a preview's page):
    the page's billable orders with, for a consolidated customer, its other orders, so that its
    periods share one invoice. `after` (a preview's cursor): a consolidated customer with an order
    on an earlier page was planned there and is left out here, as a run's claims leave it out."""
    orders = [r for r in page if r.data.get("status") in BILLED]
    known = {} if consolidated else _customers(caller, orders)
    together = (
        sorted({r.data["account_id"] for r in orders})
        if consolidated
        else [a for a, c in known.items() if c.data.get("consolidated")]
    )
    orders = _with_consolidated(caller, orders, together)
    if after is not None:
        earlier = {r.data["account_id"] for r in orders if r.record_id <= after and r.data["account_id"] in together}
        orders = [r for r in orders if r.data["account_id"] not in earlier]
    return plan_orders(caller, orders, as_of, consolidated, known)


def plan_orders(
    caller: Caller, orders: list[Record], as_of: date, consolidated: bool, known: dict[str, Record] | None = None
) -> Plan:
    """What a run as of `as_of` bills of these orders: the invoices' groups, in order, and the
    orders it cannot bill."""
    rates, mode = _rates(caller), invoices.settings(caller).partial_periods
    out = Plan()
    out.orders_seen = len(orders)
    account_ids = sorted({r.data["account_id"] for r in orders})
    if known is None:  # the orders' customers (their `consolidated`)
        known = caller.store.get_many(caller.tenant, customers.CUSTOMER, account_ids) if account_ids else {}
    groups: dict[tuple[str, ...], Group] = {}
    for order in orders:
        data = order.data
        try:
            lines = _order_lines(data)
            due_periods = ended_periods(_schedule(data), as_of, _billed_through(data))
            items = [
                Item(order, p, lines_for_period(lines, p, rates, mode, order_reference=data["number"]))
                for p in due_periods
            ]
        except BillingError as error:
            out.problems.append(RunProblem(order_id=order.record_id, field=error.field, message=str(error)))
            continue
        except ValueError as error:
            out.problems.append(RunProblem(order_id=order.record_id, field="lines", message=str(error)[:300]))
            continue
        customer = known.get(data["account_id"])
        together = consolidated or bool(customer and customer.data.get("consolidated"))
        for item in items:
            if together:
                key: tuple[str, ...] = ("customer", data["account_id"], data["currency"])
            else:
                key = ("order", order.record_id, item.period.start.isoformat())
            group = groups.get(key)
            if group is None or len(group.items) >= MAX_PERIODS_PER_INVOICE:
                if group is not None:
                    groups[(*key, str(len(groups)))] = group  # full: keep it under another key
                group = groups[key] = Group(data["account_id"], data.get("customer_name"), data["currency"])
            group.items.append(item)
    out.groups = list(groups.values())
    return out


def _totals(lines: list[DocumentLine]) -> TotalsOut:
    return TotalsOut.model_validate(totals(vat_breakdown(lines)).model_dump())


def _invoice_data(group: Group, run_id: str) -> dict[str, Any]:
    lines = group.lines
    return {
        "kind": "invoice",
        "account_id": group.account_id,
        "customer_name": group.customer_name,
        "currency": group.currency,
        "lines": invoices.stored_lines(lines),
        **invoices.amounts(lines),
        "delivery_start": min(i.period.start for i in group.items).isoformat(),
        "delivery_end": max(i.period.end for i in group.items).isoformat(),
        "periods": [p.model_dump(mode="json") for p in group.billed()],
        "order_ids": sorted({i.order.record_id for i in group.items}),
        "run_id": run_id,
    }


def _write(caller: Caller, group: Group, run: Record, issue: bool) -> str:
    """One invoice with its claims, its orders' `billed_through` and the run's counts, in one
    transaction (the counts are exact whatever crashes: a run's chunks go one at a time, so the
    run's item is written by one transaction at a time)."""
    uow = UnitOfWork()
    run_id = run.record_id
    fields = Record.fields
    counts = [
        fields["invoices_made"].set(fields["invoices_made"] + 1),
        fields["periods_billed"].set(fields["periods_billed"] + len(group.items)),
    ]
    uow.update(run, counts, check_version=False)
    record = invoices.new_invoice(caller, uow, _invoice_data(group, run_id), issue=issue)
    last: dict[str, tuple[Record, date]] = {}
    for item in group.items:
        claim_id = f"{item.order.record_id}.{item.period.start.isoformat()}"
        claim = caller.store.new(
            caller.tenant,
            CLAIM,
            claim_id,
            {"invoice_id": record.record_id, "run_id": run_id, "end": item.period.end.isoformat()},
        )
        caller.store.add(uow, claim)
        order_id = item.order.record_id
        if order_id not in last or last[order_id][1] < item.period.end:
            last[order_id] = (item.order, item.period.end)
    for order, end in last.values():
        after = {**order.data, "billed_through": end.isoformat()}
        order.set_due(caller.tenant, next_due(after))
        caller.store.replace(uow, order, after)
    uow.commit()
    return record.record_id


def _still_due(caller: Caller, group: Group) -> tuple[Group, int]:
    """The group with the orders read again and the items already billed left out, and how many were."""
    fresh: dict[str, Record | None] = {}
    kept, dropped = [], 0
    for item in group.items:
        order_id = item.order.record_id
        if order_id not in fresh:
            fresh[order_id] = caller.store.get(caller.tenant, SALES_ORDER, order_id)
        order = fresh[order_id]
        billed = _billed_through(order.data) if order is not None else None
        if (
            order is None
            or order.data.get("status") not in BILLED
            or (billed is not None and billed >= item.period.end)
        ):
            dropped += 1
            continue
        kept.append(Item(order, item.period, item.lines))
    return Group(group.account_id, group.customer_name, group.currency, kept), dropped


def _bill(caller: Caller, groups: list[Group], run: Record, issue: bool) -> Outcome:
    """Write the groups' invoices, each in its own transaction (the claims make it once)."""
    out = Outcome()
    for group in groups:
        for _ in range(ATTEMPTS):
            if not group.items:
                break
            try:
                _write(caller, group, run, issue)
            except ConcurrentUpdate:
                group, dropped = _still_due(caller, group)
                out.already += dropped
                continue
            out.made += 1
            out.periods += len(group.items)
            break
        else:
            if group.items:
                out.problems.append(
                    RunProblem(
                        order_id=group.items[0].order.record_id,
                        field="periods",
                        message="Changed by someone else on every try: billed by the next run.",
                    )
                )
    return out


def new_run(caller: Caller, as_of: date, consolidated: bool, origin: str, started_by: str | None) -> Record:
    """The run's record, `queued`: a report, not a guard (a plain put; the invoices' transactions guard)."""
    run = caller.store.new(
        caller.tenant,
        RUN,
        new_id(),
        {
            "state": "queued",
            "as_of": as_of.isoformat(),
            "origin": origin,
            "consolidated": consolidated,
            "started_at": clock.now().isoformat(),
            "started_by": started_by,
            "chunks_done": 0,
            "orders_seen": 0,
            "invoices_made": 0,
            "periods_billed": 0,
            "already_billed": 0,
            "problems": [],
        },
    )
    run.save()
    return run


@dataclass(frozen=True)
class Chunk:
    """One job message of a run: the `number`th page of the tenant's sales orders, after `after`."""

    tenant_id: str
    run_id: str
    number: int = 0
    after: str | None = None

    def message(self) -> dict[str, Any]:
        return {
            "job": CHUNK_JOB,
            "tenant_id": self.tenant_id,
            "run_id": self.run_id,
            "chunk": self.number,
            "after": self.after,
        }


@cache
def _sqs() -> Any:
    import boto3  # here: the API's cold start loads boto3 only when a run is queued

    return boto3.client("sqs")


def enqueue(chunk: Chunk) -> None:
    _sqs().send_message(QueueUrl=load(InvoicingSettings).jobs_queue_url, MessageBody=json.dumps(chunk.message()))


def queue_run(caller: Caller, run: Record) -> Record:
    """Put the run's first chunk on the jobs queue; a run that cannot be queued is `failed`."""
    try:
        enqueue(Chunk(caller.tenant, run.record_id))
    except Exception:
        run.data = {**run.data, "state": "failed", "error": "Could not be queued; start it again."}
        run.save()
        raise
    return run


def run_chunk(caller: Caller, chunk: Chunk, size: int) -> Chunk | None:
    """Bill one chunk of a run: a page of at most `size` sales orders (with, for a consolidated
    customer, its other orders: one invoice for all its periods), then record the chunk's counts on
    the run. Returns the chunk that follows (None after the last).

    Idempotent: a chunk delivered again after it was recorded bills nothing and returns the chunk
    recorded as following it; one that died before it was recorded bills what is still due (the
    claims keep what it billed from a second invoice) and records itself."""
    run = caller.store.get(caller.tenant, RUN, chunk.run_id)
    if run is None:
        logger.warning("no such invoicing run", extra={"run_id": chunk.run_id})
        return None
    data = run.data
    if data["state"] in FINISHED or int(data.get("chunks_done", 0)) != chunk.number:
        return _recorded_next(run, chunk)
    if chunk.number == 0:
        _mark_running(run)
    as_of, consolidated = date.fromisoformat(data["as_of"]), bool(data.get("consolidated"))
    page = caller.store.page_by_type(caller.tenant, SALES_ORDER, chunk.after, size + 1)  # one more: is there a next?
    last = page[size - 1].record_id if len(page) > size else None
    page = page[:size]
    caller.settings_of([invoices.SETTING, tax_classes.SETTING])  # both in one read
    found = _plan_page(caller, page, as_of, consolidated)
    settings = invoices.settings(caller)
    outcome = _bill(caller, found.groups, run, settings.issue_on_run and settings.seller is not None)
    outcome.problems = found.problems + outcome.problems
    if not _record(run, chunk, found.orders_seen, outcome, last):
        return None  # a twin delivery recorded the chunk: it queues the next (or, killed, its redelivery does)
    logger.info(
        "invoicing run chunk",
        extra={"run_id": chunk.run_id, "chunk": chunk.number, "invoices": outcome.made, "periods": outcome.periods},
    )
    return replace(chunk, number=chunk.number + 1, after=last) if last else None


def _recorded_next(run: Record, chunk: Chunk) -> Chunk | None:
    """For a chunk recorded before: the chunk its record names as next, if that one is not done yet."""
    data = run.data
    if data["state"] in FINISHED or int(data.get("chunks_done", 0)) != chunk.number + 1 or not data.get("next_after"):
        return None
    return replace(chunk, number=chunk.number + 1, after=data["next_after"])


def _mark_running(run: Record) -> None:
    update_if(run, [Record.fields["state"].set("running")], Record.fields["state"] == "queued")


def _customers(caller: Caller, orders: list[Record]) -> dict[str, Record]:
    accounts = sorted({r.data["account_id"] for r in orders})
    return caller.store.get_many(caller.tenant, customers.CUSTOMER, accounts) if accounts else {}


def _with_consolidated(caller: Caller, orders: list[Record], accounts: list[str]) -> list[Record]:
    """The orders and every other billable order of these customers, whose periods share one
    invoice (a consolidated customer's orders may lie on other pages: those bill nothing then)."""
    seen = {r.record_id for r in orders}
    out = list(orders)
    for account_id in accounts:
        for other in caller.store.of_account(caller.tenant, account_id, SALES_ORDER):
            if other.record_id not in seen and other.data.get("status") in BILLED:
                seen.add(other.record_id)
                out.append(other)
    return out


def _record(run: Record, chunk: Chunk, seen: int, outcome: Outcome, last: str | None) -> bool:
    """Record the chunk on the run, once: only while the run has recorded the chunks before it (its
    invoices and periods were counted by their own transactions)."""
    fields = Record.fields
    room = max(0, MAX_PROBLEMS - len(run.data.get("problems") or []))
    actions: list[Any] = [
        fields["chunks_done"].set(chunk.number + 1),
        fields["orders_seen"].set(fields["orders_seen"] + seen),
        fields["already_billed"].set(fields["already_billed"] + outcome.already),
        fields["state"].set("running" if last else "done"),
        fields["next_after"].set(last) if last else fields["next_after"].remove(),
    ]
    if outcome.problems and room:
        found = [p.model_dump(mode="json") for p in outcome.problems[:room]]
        actions.append(fields["problems"].set(fields["problems"].append(found)))
    if not last:
        actions.append(fields["finished_at"].set(clock.now().isoformat()))
    return update_if(run, actions, fields["chunks_done"] == chunk.number)


def _as_of(body: RunCreate) -> date:
    today = clock.now().date()
    if body.as_of is not None and body.as_of > today:
        raise ValidationFailed.on("as_of", "A run bills what has ended: as_of cannot be in the future.", "future")
    return body.as_of or today


def start_run(caller: Caller, body: RunCreate) -> Run:
    """Record the run and queue its first chunk; the jobs function bills it (`run_chunk`)."""
    caller.require_admin()
    run = new_run(caller, _as_of(body), body.consolidated, "manual", caller.user_id)
    return model_of(queue_run(caller, run), Run)


def preview_run(caller: Caller, body: RunCreate, cursor: str | None, limit: int) -> RunPreview:
    """What a run as of `as_of` would make of a page of `limit` sales orders (a run's chunk is such a
    page), nothing written; `next_cursor` pages on. Paged like the run itself, so that a tenant with
    10,000 orders is previewed within API Gateway's 29 s, a page at a time."""
    caller.require(Action.VIEW, INVOICES)
    as_of = _as_of(body)
    scope = f"{caller.tenant}:invoicing_preview:{as_of.isoformat()}:{int(body.consolidated)}"
    after = decode_cursor(cursor, scope, caller.signing_key)["id"] if cursor else None
    page = caller.store.page_by_type(caller.tenant, SALES_ORDER, after, limit + 1)
    next_cursor = (
        encode_cursor({"id": page[limit - 1].record_id}, scope, caller.signing_key) if len(page) > limit else None
    )
    found = _plan_page(caller, page[:limit], as_of, body.consolidated, after)
    return RunPreview(
        as_of=as_of,
        next_cursor=next_cursor,
        orders_seen=found.orders_seen,
        invoices=[
            PlannedInvoice(
                account_id=g.account_id,
                customer_name=g.customer_name,
                currency=g.currency,
                periods=g.billed(),
                totals=_totals(g.lines),
            )
            for g in found.groups
        ],
        problems=found.problems,
    )


def get_run(caller: Caller, run_id: str) -> Run:
    caller.require(Action.VIEW, RUNS)
    record = caller.store.get(caller.tenant, RUN, run_id)
    if record is None:
        raise NotFound(f"No invoicing run {run_id}.")
    return model_of(record, Run)


def list_runs(caller: Caller, cursor: str | None, limit: int) -> Page[Run]:
    caller.require(Action.VIEW, RUNS)
    key = tenant_key(caller.tenant, RUN.upper())
    return partition_page(caller, "invoicing_runs", cursor, limit, Record.by_type, key, Record.gsi1sk, Run, True)


@job(CHUNK_JOB)
def chunk_job(current: Job) -> None:
    """One chunk of a run; then the next chunk on the queue (a crash in between: this message comes
    again, finds itself recorded and queues the next)."""
    extra = current.model_extra or {}
    if current.tenant_id is None:
        raise ValueError("an invoicing.run message names its tenant")
    chunk = Chunk(current.tenant_id, str(extra["run_id"]), int(extra.get("chunk") or 0), extra.get("after"))
    following = run_chunk(service_caller(chunk.tenant_id), chunk, load(InvoicingSettings).run_chunk_orders)
    if following is not None:
        enqueue(following)


@job("invoicing.daily")
def daily(current: Job) -> None:
    """The daily firing: a run for every tenant that has an order due by the firing's time, each
    queued as chunks (a retried firing makes another run, which finds the periods billed)."""
    cutoff = due.cutoff_of(current.scheduled_time, clock.now())
    tenants: dict[str, int] = defaultdict(int)
    for key in due.due_keys(Record, cutoff):  # keys only: `<due>#<tenant>#<id>`
        tenants[str(key.duesk).split("#")[1]] += 1
    for tenant in sorted(tenants):
        try:
            caller = service_caller(tenant)
            queue_run(caller, new_run(caller, cutoff.date(), False, "schedule", None))
        except Exception:  # one tenant's failure holds back no other; its orders stay due
            logger.exception("invoicing run failed", extra={"tenant_id": tenant})
