"""Merged accounts reach invoicing (issue 24 items 4-5): `account.merged` moves every sales order,
invoice and price list of the merged account to the survivor, once, through a crash after the
merge's markers, another after its first moved order, and a second delivery.

One test, one tenant: the test time is scarce.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from shared.ids import new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_moved,
    assert_problem,
    created,
    drain,
    envelopes,
    merge_envelope,
    ok,
    put_envelope,
    quick_redelivery,
    settle,
    walk,
)
from tests.e2e.invoicing.test_billing_runs import LINE, active_order, run_now
from tests.e2e.invoicing.test_catalogue_and_orders import customer

pytestmark = pytest.mark.failed_deliveries  # the killed deliveries fail on purpose

EVENTS_QUEUE = "kontakt-dev-invoicing-events"


def state(admin: Api, ids: list[str]) -> dict[str, Any]:
    """Every order, invoice and price list with its account, and the customers of these accounts."""
    return {
        "orders": sorted((o["id"], o["account_id"]) for o in walk(admin, "/sales-orders", limit=50)),
        "invoices": sorted((i["id"], i["account_id"]) for i in walk(admin, "/invoices", limit=50)),
        "price_lists": sorted((p["id"], p["account_id"], len(p["items"])) for p in walk(admin, "/price-lists")),
        "customers": sorted(c["id"] for c in walk(admin, "/invoicing/customers", limit=50) if c["id"] in ids),
    }


def test_an_account_merge_moves_orders_invoices_and_prices_once_through_crashes(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    kept, gone = customer(stack, admin, name="Kept Oy"), customer(stack, admin, name="Gone Oy")
    ids = [kept["id"], gone["id"]]
    product = created(admin.post("/products", json={"code": "p1", "name": "P1", "unit_price": "10.00"}))
    other = created(admin.post("/products", json={"code": "p2", "name": "P2", "unit_price": "20.00"}))
    item = {"product_id": product["id"], "unit_price": "9.00"}
    created(admin.post("/price-lists", json={"account_id": kept["id"], "name": "Kept", "items": [item]}))
    theirs = [{"product_id": product["id"], "unit_price": "1.00"}, {"product_id": other["id"], "unit_price": "15.00"}]
    created(admin.post("/price-lists", json={"account_id": gone["id"], "name": "Gone", "items": theirs}))
    own = active_order(admin, kept["id"], 0)
    moved = [active_order(admin, gone["id"], 1)["id"], created(admin.post("/sales-orders", json=_draft(gone)))["id"]]
    run_now(admin, stack)  # the gone account's ended period: a draft invoice under it
    [invoice] = walk(admin, "/invoices")
    assert invoice["account_id"] == gone["id"]

    # The directory merged them: the survivor's record (renamed) comes with the event.
    account = ok(admin.get(f"/accounts/{kept['id']}"))
    survivor = {**account, "name": "Kept & Gone Oy", "version": account["version"] + 1}
    envelope = merge_envelope(tenant, "account", survivor, [gone["id"]])
    # killed after the merge's marker, then (delivered again) after its first moved order
    marked, first_move = (Fault("dynamodb", "TransactWriteItems", "after") for _ in range(2))
    drain(stack)
    assert stack.functions is not None
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("InvoicingConsumerFunction", faults=[marked, first_move]) as armed,
    ):
        put_envelope(stack, envelope)
        assert settle(stack, lambda: all(f.fired for f in armed) and gone["id"] not in str(state(admin, ids)))

    after = state(admin, ids)
    assert after["orders"] == sorted([(own["id"], kept["id"]), *((i, kept["id"]) for i in moved)])  # each once
    assert after["invoices"] == [(invoice["id"], kept["id"])]
    assert ok(admin.get(f"/invoices/{invoice['id']}"))["customer_name"] == "Kept & Gone Oy"  # a draft: renamed
    [prices] = walk(admin, "/price-lists")
    assert prices["account_id"] == kept["id"]  # its own price of P1 kept, the merged list's P2 added
    assert sorted((i["product_id"], i["unit_price"]) for i in prices["items"]) == sorted(
        [(product["id"], "9.00"), (other["id"], "15.00")]
    )
    assert after["customers"] == [kept["id"]] and ok(admin.get(f"/invoicing/customers/{kept['id']}"))["name"] == (
        "Kept & Gone Oy"
    )
    assert_moved(admin, f"/invoicing/customers/{gone['id']}", gone["id"], kept["id"])  # its copy: the survivor's
    assert_problem(admin.patch(f"/invoicing/customers/{gone['id']}", json={"consolidated": True}), 410)
    for path in ("/sales-orders", "/invoices"):
        assert_moved(admin, path, gone["id"], kept["id"], account_id=gone["id"], limit=10)
    updated = [e for e in envelopes(stack, tenant, "sales_order.updated") if "account_id" in e["data"]["changed"]]
    assert sorted(e["data"]["id"] for e in updated) == sorted(moved)  # one event a moved order

    # Delivered again (another id, past the dedupe), and a late update of the merged account: nothing changes.
    put_envelope(stack, {**envelope, "id": new_id()})
    [late] = [e for e in envelopes(stack, tenant, "account.created") if e["data"]["id"] == gone["id"]]
    put_envelope(stack, {**late, "id": new_id(), "type": "account.updated"})
    drain(stack, busy_ok=True)
    assert state(admin, ids) == after
    assert len(envelopes(stack, tenant, "sales_order.updated")) == len(updated)

    # Old links keep working: an order or price list naming the merged account goes to the survivor.
    order = created(admin.post("/sales-orders", json=_draft(gone)))
    assert (order["account_id"], order["customer_name"]) == (kept["id"], "Kept & Gone Oy")
    assert len(walk(admin, "/sales-orders", account_id=gone["id"])) == 4  # the survivor's, by the old id
    assert_problem(admin.post("/price-lists", json={"account_id": gone["id"], "name": "x", "items": []}), 409)


def _draft(account: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": account["id"], "interval": "monthly", "start_date": "2026-01-01", "lines": [LINE]}
