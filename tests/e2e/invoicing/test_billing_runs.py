"""Billing runs and invoices through `kontakt dev` (issue 22, items 3-6).

Two dense tests (the suite is at its time budget):
- one tenant: the seller's details (a wrong IBAN check digit is a 422 naming `seller.iban`), a
  preview that writes nothing, two runs at once (a daily firing and its repeat, in two jobs
  workers: the loser's transactions fail on the periods' claims) that bill each period once, a
  consolidated customer's periods on one invoice grouped by order, issuing with gap-free numbers,
  the references and barcode, the PDF and Finvoice files by presigned links, crediting, paying,
  who may, 404s, the `invoice.*` events;
- a run split into chunks (RUN_CHUNK_ORDERS=1 for the jobs function), killed after writing a
  chunk's first invoice and again between recording a chunk and queueing the next: each killed
  chunk is delivered again (the jobs queue's redelivery cut to a second), the run ends `done` with
  exact counts, a late twin of a chunk bills nothing, no period is billed twice; the runs issue
  (`issue_on_run`) with numbers without a gap; the consumer killed between storing an invoice's
  PDF and recording it renders it again on redelivery.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests

from infra import devpage
from infra.faults import Fault
from infra.runtime import LocalRuntime
from services.invoicing.domain.periods import add_months
from services.invoicing.domain.references import validate_national, validate_rf
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_problem,
    created,
    drain,
    envelopes,
    new_tenant,
    ok,
    poll_until,
    quick_redelivery,
    settle,
    walk,
)
from tests.e2e.invoicing.test_catalogue_and_orders import customer

SELLER = {
    "name": "Myyjä Oy",
    "business_id": "1234567-1",
    "address": {"street": "Katu 1", "postal_code": "00100", "city": "Helsinki"},
    "iban": "FI49 5000 9420 0287 30",
    "bic": "OKOYFIHH",
}
LINE = {"description": "Tuki", "quantity": "1", "unit_price": "100.00", "tax_class": "standard"}


def active_order(admin: Api, account_id: str, months_ago: int, price: str = "100.00") -> dict[str, Any]:
    """A monthly order that started `months_ago` months ago today: that many periods have ended."""
    start = add_months(datetime.now(UTC).date(), -months_ago).isoformat()
    body = {
        "account_id": account_id,
        "currency": "EUR",
        "interval": "monthly",
        "start_date": start,
        "lines": [{**LINE, "unit_price": price}],
    }
    order = created(admin.post("/sales-orders", json=body))
    return ok(admin.post(f"/sales-orders/{order['id']}/activate"))


def daily_firing(stack: LocalRuntime) -> None:
    """What InvoicingDailySchedule puts on the invoicing jobs queue when it fires."""
    send_job(stack, {"job": "invoicing.daily", "scheduled_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})


def run_now(admin: Api, stack: LocalRuntime, **body: Any) -> dict[str, Any]:
    """`POST /invoicing/runs`: 202 with the queued run and its Location; the run once the jobs are done."""
    answer = admin.post("/invoicing/runs", json=body)
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert queued["state"] == "queued" and answer.headers["Location"] == f"/invoicing/runs/{queued['id']}"
    drain(stack)
    return ok(admin.get(answer.headers["Location"]))


def send_job(stack: LocalRuntime, message: dict[str, Any]) -> None:
    assert stack.stack is not None
    queue = stack.stack.queues["InvoicingJobsQueue"].url
    stack.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(message))


def periods_of(admin: Api) -> list[tuple[str, str]]:
    out = []
    for summary in walk(admin, "/invoices"):
        if summary["kind"] == "invoice":
            out += [(p["order_id"], p["start"]) for p in ok(admin.get(f"/invoices/{summary['id']}"))["periods"]]
    return out


def test_runs_bill_each_ended_period_once_and_invoices_are_issued_credited_and_paid(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    bad = {**SELLER, "iban": "FI48 5000 9420 0287 30"}
    assert_problem(admin.patch("/invoicing/settings", json={"seller": bad}), 422, "seller.iban")
    assert_problem(admin.patch("/invoicing/settings", json={"seller": {**SELLER, "bic": "X"}}), 422, "seller.bic")
    assert ok(admin.get("/invoicing/settings"))["seller"] is None  # nothing written
    manager = admin.as_(tenant, "manager-1", "manager")
    assert_problem(manager.patch("/invoicing/settings", json={"seller": SELLER}), 403)
    settings = ok(admin.patch("/invoicing/settings", json={"seller": SELLER}))
    assert (settings["seller"]["iban"], settings["partial_periods"], settings["issue_on_run"]) == (
        "FI4950009420028730",
        "prorate",
        False,
    )

    einvoicing = {"e_invoice_address": "003712345671", "e_invoice_operator": "NDEAFIHH"}
    single = customer(stack, admin, business_id="1234567-1", **einvoicing)
    together = customer(stack, admin, name="Konserni Oy")
    assert ok(admin.patch(f"/invoicing/customers/{together['id']}", json={"consolidated": True}))["consolidated"]
    first = active_order(admin, single["id"], 2)  # two ended periods: two invoices
    second = active_order(admin, together["id"], 2, "10.00")  # two periods and one:
    third = active_order(admin, together["id"], 1, "20.00")  # one consolidated invoice of three periods

    user = admin.as_(tenant, "user-1", "user")
    assert_problem(user.post("/invoicing/runs/preview", json={}), 403)
    assert_problem(manager.post("/invoicing/runs", json={}), 403)
    assert_problem(admin.post("/invoicing/runs", json={"as_of": "2999-01-01"}), 422, "as_of")
    preview = ok(admin.post("/invoicing/runs/preview", json={}))
    planned = sorted((len(p["periods"]), p["account_id"], p["totals"]["gross"]) for p in preview["invoices"])
    assert planned == [(1, single["id"], "125.50"), (1, single["id"], "125.50"), (3, together["id"], "50.20")]
    # A page of one order at a time: the consolidated customer's invoice once, on its first order's page.
    pages, cursor = [], None
    while True:
        page = ok(
            admin.post(
                "/invoicing/runs/preview", params={"limit": 1, **({"cursor": cursor} if cursor else {})}, json={}
            )
        )
        pages.append(sorted((len(p["periods"]), p["account_id"], p["totals"]["gross"]) for p in page["invoices"]))
        if not (cursor := page["next_cursor"]):
            break
    assert pages == [planned[:2], planned[2:], []], pages
    assert walk(admin, "/invoices") == [] and walk(admin, "/invoicing/runs") == []  # a preview writes nothing

    # Two runs at once: a firing of the daily schedule and its repeat, taken by two jobs workers at once:
    # every (order, period) billed once, whichever run got there first.
    daily_firing(stack)
    daily_firing(stack)
    drain(stack)
    runs = walk(admin, "/invoicing/runs")
    assert len(runs) in (1, 2) and {r["origin"] for r in runs} == {"schedule"}
    assert sum(r["invoices_made"] for r in runs) == 3 and sum(r["periods_billed"] for r in runs) == 5
    assert {r["state"] for r in runs} == {"done"} and all((r["orders_seen"], r["chunks_done"]) == (3, 1) for r in runs)
    billed = periods_of(admin)
    assert len(billed) == len(set(billed)) == 5
    again = run_now(admin, stack)
    assert (again["state"], again["invoices_made"], again["periods_billed"]) == ("done", 0, 0)
    assert ok(admin.get(f"/invoicing/runs/{again['id']}")) == again
    assert {r["id"] for r in walk(admin, "/invoicing/runs")} == {r["id"] for r in [*runs, again]}

    # Drafts: no number; the consolidated one groups its lines by order.
    drafts = walk(admin, "/invoices", status="draft")
    assert len(drafts) == 3 and all(d["number"] is None and d["status"] == "draft" for d in drafts)
    (merged,) = walk(admin, "/invoices", account_id=together["id"])
    merged = ok(admin.get(f"/invoices/{merged['id']}"))
    assert [line["order_reference"] for line in merged["lines"]] == [second["number"]] * 2 + [third["number"]]
    assert merged["vat_breakdown"] == [{"rate": "25.5", "net": "40.00", "vat": "10.20", "gross": "50.20"}]
    assert merged["reference"] is None and merged["barcode"] is None
    mine = [d["id"] for d in walk(admin, "/invoices", account_id=single["id"])]
    assert len(mine) == 2 and {p["order_id"] for p in ok(admin.get(f"/invoices/{mine[0]}"))["periods"]} == {first["id"]}

    # Issuing takes the next number (no gaps), the reference, its RF form, the due date, the barcode.
    assert_problem(user.post(f"/invoices/{mine[0]}/issue"), 403)
    issued = ok(admin.post(f"/invoices/{mine[0]}/issue"))
    assert (issued["status"], issued["number"]) == ("issued", "1")
    assert validate_national(issued["reference"]) == issued["reference"] == "10016"
    assert validate_rf(issued["rf_reference"]) and issued["rf_reference"].endswith("10016")
    assert issued["payment_terms_days"] == 14 and issued["due_date"] > issued["issue_date"]
    assert len(issued["barcode"]) == 54 and issued["barcode"].startswith("4") and "12550" in issued["barcode"]
    again_issued = ok(admin.post(f"/invoices/{mine[0]}/issue"))  # asked twice: the same invoice
    assert {k: v for k, v in again_issued.items() if k != "documents"} == {
        k: v for k, v in issued.items() if k != "documents"
    }

    # Its documents, rendered from `invoice.issued`: the PDF and the Finvoice 3.0 XML, by presigned links.
    assert settle(stack, lambda: ok(admin.get(f"/invoices/{mine[0]}")).get("documents"))
    links = ok(admin.get(f"/invoices/{mine[0]}"))["documents"]
    pdf, xml = (requests.get(links[name], timeout=30) for name in ("pdf_url", "finvoice_url"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert xml.status_code == 200 and b'Version="3.0"' in xml.content and b"<InvoiceNumber>1<" in xml.content
    assert issued["barcode"].encode() in xml.content  # VirtualBankBarcode

    # Sending: by email (the PDF attached, through the email service) or prepared as an e-invoice.
    assert_problem(admin.post(f"/invoices/{mine[1]}/send", json={"channel": "email"}), 409)  # a draft
    assert_problem(admin.post(f"/invoices/{mine[0]}/send", json={"channel": "email"}), 422, "to")  # no email
    mailed = ok(admin.post(f"/invoices/{mine[0]}/send", json={"channel": "email", "to": "lasku@example.fi"}))
    assert [(s["channel"], s["to"]) for s in mailed["sent"]] == [("email", "lasku@example.fi")]
    request_id = mailed["sent"][0]["request_id"]
    einvoice = {"channel": "einvoice"}
    assert_problem(admin.post(f"/invoices/{mine[0]}/send", json=einvoice), 422, "seller.einvoice_address")
    seller = {**SELLER, "einvoice_address": "003712345671", "einvoice_operator": "OKOYFIHH"}
    assert ok(admin.patch("/invoicing/settings", json={"seller": seller}))["seller"]["einvoice_operator"]
    prepared = ok(admin.post(f"/invoices/{mine[0]}/send", json=einvoice))
    assert [s["channel"] for s in prepared["sent"]] == ["email", "einvoice"]
    operator_file = requests.get(prepared["documents"]["einvoice_url"], timeout=30).content
    assert b"SOAP-ENV:Envelope" in operator_file and b"<Finvoice" in operator_file
    assert settle(
        stack, lambda: [e for e in envelopes(stack, tenant, "email.sent") if e["data"].get("request_id") == request_id]
    )
    assert ok(admin.post(f"/invoices/{merged['id']}/issue"))["number"] == "2"

    # Credit note: the next number, negated lines, references the invoice; paid; the statuses' rules.
    assert_problem(admin.post(f"/invoices/{mine[1]}/credit"), 409)  # a draft
    note = created(admin.post(f"/invoices/{mine[0]}/credit"))
    assert (note["kind"], note["status"], note["number"], note["credited_invoice_id"]) == (
        "credit_note",
        "issued",
        "3",
        mine[0],
    )
    assert note["totals"]["gross"] == "-125.50" and note["barcode"] is None
    assert ok(admin.get(f"/invoices/{mine[0]}"))["status"] == "credited"
    assert_problem(admin.post(f"/invoices/{mine[0]}/paid"), 409)
    paid = ok(admin.post(f"/invoices/{merged['id']}/paid"))
    assert paid["status"] == "paid" and paid["paid_at"]
    assert [i["id"] for i in walk(admin, "/invoices", status="paid")] == [merged["id"]]

    # The console page (kontakt dev's /dev) lists them in its Invoices panel: a draft without number or PDF.
    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "invoices"]
    rows = {r["id"]: r for r in panel["data"] if r["tenant"] == tenant}
    assert (rows[mine[1]]["number"], rows[mine[1]]["status"], rows[mine[1]]["pdf"]) == ("(draft)", "draft", "")
    assert (rows[note["id"]]["number"], rows[note["id"]]["total"]) == ("3", "-125.50 EUR")
    assert (rows[mine[0]]["status"], rows[mine[0]]["customer"], rows[mine[0]]["due"]) == (
        "credited",
        single["name"],
        issued["due_date"],
    )
    assert requests.get(rows[mine[0]]["pdf"], timeout=30).content.startswith(b"%PDF-")

    # Unknown and other tenants' ids: 404.
    other = admin.as_(new_tenant(), "admin-1", "admin")
    for path in (f"/invoices/{mine[0]}", f"/invoicing/runs/{again['id']}", "/invoices/01NOSUCHINVOICE0000000000"):
        assert_problem(other.get(path), 404)
    assert_problem(other.post(f"/invoices/{mine[1]}/issue"), 404)

    drain(stack)
    kinds = [e["type"] for e in envelopes(stack, tenant) if e["type"].startswith("invoice.")]
    for kind, count in (("invoice.created", 4), ("invoice.issued", 3), ("invoice.credited", 1), ("invoice.paid", 1)):
        assert kinds.count(kind) == count, (kind, kinds)


def test_a_chunked_run_killed_inside_and_between_chunks_bills_each_period_once(api: Api, stack: LocalRuntime) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    account = customer(stack, admin)
    orders = sorted([active_order(admin, account["id"], months) for months in (2, 1, 1)], key=lambda o: o["id"])
    assert ok(admin.patch("/invoicing/settings", json={"seller": SELLER, "issue_on_run": True}))["issue_on_run"]
    assert stack.functions is not None
    inside = Fault("dynamodb", "TransactWriteItems", "after")  # chunk 0's first invoice committed, not recorded
    between = Fault("sqs", "SendMessage", "before")  # a chunk recorded, the next not queued
    rendered = Fault("s3", "PutObject", "after")  # the consumer stored an invoice's PDF, the invoice not told
    chunk_of_one = {"RUN_CHUNK_ORDERS": "1"}  # three orders: three chunks
    with (
        quick_redelivery(stack, "kontakt-dev-invoicing-jobs"),
        quick_redelivery(stack, "kontakt-dev-invoicing-events"),
        stack.functions.configured("InvoicingJobsFunction", chunk_of_one, faults=[inside, between]) as armed,
        stack.functions.configured("InvoicingConsumerFunction", faults=[rendered]) as (render_crash,),
    ):
        answer = admin.post("/invoicing/runs", json={})
        assert answer.status_code == 202
        location = answer.headers["Location"]
        run = poll_until(lambda: (r := ok(admin.get(location)))["state"] == "done" and r)
        assert all(fault.fired for fault in armed)
        # Each invoice's documents, the one whose rendering was killed too (its event delivered again).
        invoices = poll_until(
            lambda: (
                len(got := [ok(admin.get(f"/invoices/{i['id']}")) for i in walk(admin, "/invoices")]) == 4
                and all(i.get("documents") for i in got)
                and got
            )
        )
        assert invoices and render_crash.fired
    drain(stack)
    first = next(i for i in invoices if i["number"] == "1")
    assert requests.get(first["documents"]["pdf_url"], timeout=30).content.startswith(b"%PDF-")
    assert (run["chunks_done"], run["orders_seen"], run["invoices_made"], run["periods_billed"]) == (3, 3, 4, 4)
    assert run["problems"] == [] and run["finished_at"]
    billed = periods_of(admin)
    assert len(billed) == len(set(billed)) == 4 and sorted({o for o, _ in billed}) == [o["id"] for o in orders]

    # A late twin of a chunk: the run is done, nothing billed, nothing counted.
    send_job(
        stack, {"job": "invoicing.run", "tenant_id": tenant, "run_id": run["id"], "chunk": 1, "after": orders[0]["id"]}
    )
    drain(stack)
    assert ok(admin.get(location)) == run and len(periods_of(admin)) == 4
    assert run_now(admin, stack)["invoices_made"] == 0
    # Issued by the run (the tenant's `issue_on_run`): numbers without a gap across the crashes.
    made = walk(admin, "/invoices")
    assert {i["status"] for i in made} == {"issued"} and sorted(i["number"] for i in made) == ["1", "2", "3", "4"]
