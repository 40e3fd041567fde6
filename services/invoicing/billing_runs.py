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

The run record (kind "invoicing_run") is a report, not a guard: written when the run starts
(`running`) and when it ends (`done`, with orders seen, invoices made, periods billed, problems),
each a plain put. A run that died in between stays `running`; its invoices stand, and the next run
finds their periods billed.

Runs: `POST /invoicing/runs` (admins, as of a day not in the future), `POST /invoicing/runs/preview`
(the same plan, nothing written), and the daily schedule (template.yaml `InvoicingDailySchedule`
-> the jobs queue -> `invoicing.daily`): it finds the tenants with an order due through the
kernel's due index (an active order is listed at the day after its next period ends,
shared/due.py) and runs each.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
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
from services.invoicing.store import Record
from services.invoicing.subscriptions import job
from shared import clock, due
from shared.errors import NotFound, ValidationFailed
from shared.ids import new_id
from shared.observability import logger
from shared.pagination import Page
from shared.permissions import Action
from shared.service import model_of, partition_page
from shared.store import ConcurrentUpdate, UnitOfWork, tenant_key
from shared.subscriptions import Job

RUN = "invoicing_run"
CLAIM = "billed_period"  # one per (sales order, period start): the store's guard against a second invoice
SALES_ORDER = "sales_order"
BILLED = ("active", "ended")  # the statuses whose periods are billed
MAX_PERIODS_PER_INVOICE = 40  # a transaction holds at most 100 items: claims, orders, the invoice, events
ATTEMPTS = 3


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


def plan(caller: Caller, as_of: date, consolidated: bool) -> Plan:
    """What a run as of `as_of` bills: the invoices' groups, in order, and the orders it cannot bill."""
    rates, mode = _rates(caller), invoices.settings(caller).partial_periods
    out = Plan()
    orders = [r for r in caller.store.all_of_kind(caller.tenant, SALES_ORDER) if r.data.get("status") in BILLED]
    out.orders_seen = len(orders)
    account_ids = sorted({r.data["account_id"] for r in orders})
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


def _write(caller: Caller, group: Group, run_id: str, issue: bool) -> str:
    """One invoice with its claims and its orders' `billed_through`, in one transaction."""
    uow = UnitOfWork()
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


def execute(caller: Caller, as_of: date, consolidated: bool, origin: str, started_by: str | None) -> Run:
    settings = invoices.settings(caller)
    issue = settings.issue_on_run and settings.seller is not None
    run_id = new_id()
    now = clock.now().isoformat()
    run = caller.store.new(
        caller.tenant,
        RUN,
        run_id,
        {
            "state": "running",
            "as_of": as_of.isoformat(),
            "origin": origin,
            "consolidated": consolidated,
            "started_at": now,
            "started_by": started_by,
        },
    )
    run.save()  # a report, not a guard: a plain put (the invoices' transactions guard)
    found = plan(caller, as_of, consolidated)
    made = periods_billed = already = 0
    problems = list(found.problems)
    for group in found.groups:
        for _ in range(ATTEMPTS):
            if not group.items:
                break
            try:
                _write(caller, group, run_id, issue)
            except ConcurrentUpdate:
                group, dropped = _still_due(caller, group)
                already += dropped
                continue
            made += 1
            periods_billed += len(group.items)
            break
        else:
            if group.items:
                problems.append(
                    RunProblem(
                        order_id=group.items[0].order.record_id,
                        field="periods",
                        message="Changed by someone else on every try: billed by the next run.",
                    )
                )
    run.data = {
        **run.data,
        "state": "done",
        "orders_seen": found.orders_seen,
        "invoices_made": made,
        "periods_billed": periods_billed,
        "already_billed": already,
        "problems": [p.model_dump(mode="json") for p in problems[:50]],
        "finished_at": clock.now().isoformat(),
    }
    run.save()
    logger.info("invoicing run", extra={"run_id": run_id, "invoices": made, "periods": periods_billed})
    return model_of(run, Run)


def _as_of(body: RunCreate) -> date:
    today = clock.now().date()
    if body.as_of is not None and body.as_of > today:
        raise ValidationFailed.on("as_of", "A run bills what has ended: as_of cannot be in the future.", "future")
    return body.as_of or today


def start_run(caller: Caller, body: RunCreate) -> Run:
    caller.require_admin()
    return execute(caller, _as_of(body), body.consolidated, "manual", caller.user_id)


def preview_run(caller: Caller, body: RunCreate) -> RunPreview:
    caller.require(Action.VIEW, INVOICES)
    as_of = _as_of(body)
    found = plan(caller, as_of, body.consolidated)
    return RunPreview(
        as_of=as_of,
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


@job("invoicing.daily")
def daily(current: Job) -> None:
    """The daily firing: run every tenant that has an order due by the firing's time (a tenant's
    run bills all its due orders; a retried firing finds them billed)."""
    cutoff = due.cutoff_of(current.scheduled_time, clock.now())
    tenants: dict[str, int] = defaultdict(int)
    for key in due.due_keys(Record, cutoff):  # keys only: `<due>#<tenant>#<id>`
        tenants[str(key.duesk).split("#")[1]] += 1
    for tenant in sorted(tenants):
        try:
            execute(service_caller(tenant), cutoff.date(), False, "schedule", None)
        except Exception:  # one tenant's failure holds back no other; its orders stay due
            logger.exception("invoicing run failed", extra={"tenant_id": tenant})
