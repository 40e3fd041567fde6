"""(q) A billing run (issue 22's figures): invoices made per second and AWS calls per invoice for a run
over KONTAKT_PERF_INVOICING_ORDERS due sales orders (default 2,000; the issue's 10,000 takes about
five times as long on moto), against the batching minimum, and the run's peak memory.

This process acts as the invoicing jobs function (its environment, its table in the emulator) and
runs what `POST /invoicing/runs` and the daily schedule start: the run recorded and its first chunk
queued (`new_run`, `queue_run`), then each chunk as the jobs function runs it (`run_chunk`, then
`enqueue` of the next), in turn; the chunk messages go to a queue of the benchmark's own (the
stack's jobs function would otherwise take them). RUN_CHUNK_ORDERS (the template's, 100) orders per
chunk. The orders (monthly, one period ended each) and their customers are seeded with
BatchWriteItem first.

The batching minimum: one TransactWriteItems per invoice (the invoice, its (order, period) claim,
the order's `billed_through`, the run's counts, the outbox event: one atomic write, which is what
makes it never twice), plus per chunk the page of orders (one Query), its customers and the
tenant's settings (two BatchGetItem), the run's record (a GetItem, an UpdateItem) and the next
chunk's message (one SendMessage): about 1 + 6 / RUN_CHUNK_ORDERS. Peak memory: tracemalloc's peak of the Python heap
during the run (a chunk holds its orders and plan).
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from tests.perf.test_f_mass_activities import count_aws_calls

from .conftest import FIGURES, acting_as, render, stopwatch

pytestmark = pytest.mark.perf

ORDERS = int(os.environ.get("KONTAKT_PERF_INVOICING_ORDERS", "2000"))
CUSTOMERS = 200
TENANT = "perf-invoicing"


@pytest.fixture(scope="module")
def invoicing_table(runtime: LocalRuntime) -> Iterator[str]:
    from shared import settings

    with acting_as(runtime, "InvoicingJobsFunction", "InvoicingTable") as table:
        # the chunks' messages go to a queue of the benchmark's own: the stack's jobs function takes none
        url = runtime.client("sqs").create_queue(QueueName="perf-invoicing-chunks")["QueueUrl"]
        saved = os.environ["JOBS_QUEUE_URL"]
        os.environ["JOBS_QUEUE_URL"] = url
        settings.load.cache_clear()
        try:
            yield table
        finally:
            os.environ["JOBS_QUEUE_URL"] = saved
            settings.load.cache_clear()


def _seed(tenant: str, orders: int) -> None:
    from services.invoicing import billing_runs
    from services.invoicing.domain.periods import add_months
    from services.invoicing.store import InvoicingStore, Record
    from shared.ids import new_id

    store = InvoicingStore()
    start = add_months(datetime.now(UTC).date(), -1).isoformat()
    now = datetime.now(UTC).isoformat()
    accounts = [new_id() for _ in range(CUSTOMERS)]
    records: list[Any] = []
    for account in accounts:
        records.append(
            store.new(tenant, "customer", account, {"name": f"Asiakas {account[-4:]}", "consolidated": False})
        )
    for n in range(orders):
        data = {
            "number": f"SO-{1000 + n}",
            "account_id": accounts[n % CUSTOMERS],
            "customer_name": "Asiakas",
            "status": "active",
            "currency": "EUR",
            "interval": "monthly",
            "start_date": start,
            "end_date": None,
            "billing": "arrears",
            "lines": [
                {
                    "line_no": 1,
                    "description": "Tuki",
                    "quantity": "1",
                    "unit": "mo",
                    "unit_price": "49.90",
                    "discount_percent": "0",
                    "tax_class": "standard",
                    "credit": False,
                }
            ],
            "owner": {"type": "user", "id": "perf-user-00"},
            "created_by": "perf-user-00",
            "created_at": now,
            "updated_at": now,
        }
        record = store.new(tenant, "sales_order", new_id(), data)
        record.link_account(tenant, data["account_id"])
        record.set_due(tenant, billing_runs.next_due(data))
        record.version = 1
        records.append(record)
    with Record.batch_write() as batch:
        for record in records:
            batch.save(record)


def test_invoicing_run_rate_and_aws_calls_per_invoice(invoicing_table: str) -> None:
    from services.invoicing import billing_runs
    from services.invoicing.service import service_caller
    from services.invoicing.settings import InvoicingSettings
    from shared.settings import load

    _seed(TENANT, ORDERS)
    caller = service_caller(TENANT)  # the tenant's defaults installed before the count
    caller.setting("tax_classes")
    today = datetime.now(UTC).date()
    size = load(InvoicingSettings).run_chunk_orders

    tracemalloc.start()
    cpu = time.process_time()
    with count_aws_calls() as counter, stopwatch() as elapsed:
        sqs = billing_runs._sqs()  # the chunks' messages counted too
        sqs.meta.events.register("before-call.*.*", counter.before, unique_id="perf-sqs-calls")
        sqs.meta.events.register("after-call.*.*", counter.after, unique_id="perf-sqs-calls-done")
        record = billing_runs.queue_run(caller, billing_runs.new_run(caller, today, False, "schedule", None))
        chunk: billing_runs.Chunk | None = billing_runs.Chunk(TENANT, record.record_id)
        while chunk is not None:  # what the jobs function does with each chunk message
            chunk = billing_runs.run_chunk(service_caller(TENANT), chunk, size)
            if chunk is not None:
                billing_runs.enqueue(chunk)
    seconds = elapsed()
    cpu = time.process_time() - cpu  # this process's (the function's) CPU, not the emulator's
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    run = billing_runs.get_run(caller, record.record_id)
    chunks = -(-ORDERS // size)
    assert (run.state, run.chunks_done, run.invoices_made, run.periods_billed, run.problems) == (
        "done",
        chunks,
        ORDERS,
        ORDERS,
        [],
    )
    per_invoice = counter.total / ORDERS
    writes = counter.calls.get("TransactWriteItems", 0)
    minimum = (ORDERS + 6 * chunks + 1) / ORDERS
    rate = ORDERS / seconds
    print(
        render(
            f"(q) a billing run over {ORDERS:,} due sales orders (one period each), {chunks} chunks of "
            f"{size}, in-process on moto",
            [
                ("invoices made", f"{run.invoices_made:,}", ""),
                ("invoices per second", f"{rate:,.1f}", "invoices/s"),
                ("seconds per chunk (a job message's work)", f"{seconds / chunks:,.2f}", "s"),
                ("function CPU per invoice (the emulator's not counted)", f"{1000 * cpu / ORDERS:,.1f}", "ms"),
                ("AWS calls", f"{counter.total:,}", ""),
                ("AWS calls per invoice", f"{per_invoice:.3f}", "calls"),
                ("batching minimum per invoice", f"{minimum:.3f}", "calls"),
                ("calls by operation", ", ".join(f"{k} {v}" for k, v in sorted(counter.calls.items())), ""),
                ("time waiting on AWS calls", f"{counter.seconds:.1f}", "s"),
                ("peak Python heap of the run", f"{peak / 2**20:,.1f}", "MiB"),
            ],
            header=("figure", "value", "unit"),
        )
    )
    FIGURES.add("q. invoicing run", f"invoices/s at {ORDERS:,} orders", round(rate, 1), "invoices/s")
    FIGURES.add("q. invoicing run", "AWS calls per invoice", round(per_invoice, 3), "calls")
    FIGURES.add("q. invoicing run", "batching minimum per invoice", round(minimum, 3), "calls")
    FIGURES.add("q. invoicing run", "peak Python heap", round(peak / 2**20, 1), "MiB")
    FIGURES.add("q. invoicing run", "seconds per chunk", round(seconds / chunks, 2), "s")
    FIGURES.add("q. invoicing run", "function CPU per invoice", round(1000 * cpu / ORDERS, 1), "ms")
    # Loose bounds: one transaction per invoice, no per-invoice reads.
    assert writes == ORDERS, counter.calls
    assert per_invoice < 1.2, counter.calls
