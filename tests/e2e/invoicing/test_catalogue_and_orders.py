"""The invoicing catalogue and sales orders through `kontakt dev` (issue 22, items 1-2 and the bad input).

Cheap by design (the suite is at its time budget): three tests, each one tenant, many checks.
- the catalogue: tax classes installed with their Finnish VAT history, products with unique codes,
  a customer's price list, who may write them;
- sales orders: the customer from the directory's `account.*` events, lines resolved from products
  and the price list, statuses, the bad input of the issue (422 naming the field, nothing written),
  ownership, 404 for unknown and other tenants' ids, the `sales_order.*` events;
- a converted contact order opens one draft order, however often its event is delivered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.runtime import LocalRuntime
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, drain, envelopes, new_tenant, ok, put_envelope, settle, walk


def customer(stack: LocalRuntime, admin: Api, **fields: Any) -> dict[str, Any]:
    """An account made in the directory, once invoicing's projection has it."""
    account = created(admin.post("/accounts", json={"name": "Asiakas Oy", **fields}))  # owned by its creator
    found = settle(stack, lambda: admin.get(f"/invoicing/customers/{account['id']}").status_code == 200)
    assert found, "the account never reached invoicing's customers"
    return ok(admin.get(f"/invoicing/customers/{account['id']}"))


def test_the_catalogue_tax_classes_products_and_price_lists(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    user = admin.as_(tenant, "user-1", "user")
    # Tax classes: a new tenant has Finnish VAT with its history.
    classes = {c["code"]: c for c in ok(user.get("/tax-classes"))}
    assert set(classes) == {"standard", "middle", "middle_2025", "reduced", "zero"}
    assert classes["standard"]["rates"] == [
        {"rate": "24", "valid_from": None, "valid_until": "2024-08-31"},
        {"rate": "25.5", "valid_from": "2024-09-01", "valid_until": None},
    ]
    assert [(r["rate"], r["valid_from"]) for r in classes["middle"]["rates"]] == [("14", None), ("13.5", "2026-01-01")]
    assert [(r["rate"], r["valid_from"], r["valid_until"]) for r in classes["middle_2025"]["rates"]] == [
        ("10", None, "2024-12-31"),
        ("14", "2025-01-01", "2025-12-31"),
        ("13.5", "2026-01-01", None),
    ]
    assert (classes["reduced"]["rates"][0]["rate"], classes["zero"]["rates"][0]["rate"]) == ("10", "0")
    today = datetime.now(UTC).date().isoformat()
    if today >= "2026-01-01":
        assert (classes["standard"]["rate_today"], classes["middle_2025"]["rate_today"]) == ("25.5", "13.5")
    assert ok(user.get("/tax-classes/middle_2025")) == classes["middle_2025"]
    assert_problem(user.get("/tax-classes/nosuch"), 404)

    books = {
        "code": "books-2030",
        "name": "Books",
        "rates": [{"rate": "10"}, {"rate": "12", "valid_from": "2030-01-01"}],
    }
    assert_problem(user.post("/tax-classes", json=books), 403)
    made = created(admin.post("/tax-classes", json=books))
    assert made["id"] == "books-2030" and made["rates"][0]["valid_until"] == "2029-12-31"
    assert_problem(admin.post("/tax-classes", json=books), 422, "code")
    unordered = {**books, "code": "x", "rates": [{"rate": "10", "valid_from": "2030-01-01"}, {"rate": "9"}]}
    assert_problem(admin.post("/tax-classes", json=unordered), 422, "rates")
    assert_problem(admin.post("/tax-classes", json={**books, "code": "y", "rates": [{"rate": "101"}]}), 422)
    changed = ok(admin.patch("/tax-classes/books-2030", json={"active": False}))
    assert changed["active"] is False and len(ok(admin.get("/tax-classes"))) == 6
    assert_problem(user.patch("/tax-classes/books-2030", json={"active": True}), 403)

    # Products: code unique in the tenant, prices as decimal strings, a known active tax class.
    product = {"code": "support", "name": "Support", "unit": "mo", "unit_price": "49.90", "tax_class": "standard"}
    assert_problem(user.post("/products", json=product), 403)
    support = created(admin.post("/products", json=product))
    assert (support["unit_price"], support["tax_class"], support["active"]) == ("49.90", "standard", True)
    assert_problem(admin.post("/products", json=product), 422, "code")
    assert_problem(admin.post("/products", json={**product, "code": "other", "tax_class": "nosuch"}), 422, "tax_class")
    assert_problem(
        admin.post("/products", json={**product, "code": "other", "tax_class": "books-2030"}), 422, "tax_class"
    )
    assert_problem(admin.post("/products", json={**product, "code": "other", "unit_price": "-1"}), 422, "unit_price")
    assert_problem(admin.post("/products", json={**product, "code": "other", "unit_price": 49.9}), 422, "unit_price")
    assert [p["code"] for p in walk(user, "/products")] == ["support"]  # nothing else was written
    renamed = ok(admin.patch(f"/products/{support['id']}", json={"code": "support-m", "unit_price": "39"}))
    assert (renamed["code"], renamed["unit_price"]) == ("support-m", "39")
    book = created(
        admin.post("/products", json={**product, "code": "support", "name": "Book", "tax_class": "middle_2025"})
    )
    assert_problem(admin.patch(f"/products/{book['id']}", json={"code": "support-m"}), 422, "code")
    assert_problem(user.patch(f"/products/{book['id']}", json={"name": "Mine"}), 403)
    assert ok(user.get(f"/products/{book['id']}"))["name"] == "Book"

    # A customer's price list overrides unit prices; one list an account.
    account = customer(stack, admin, business_id="1234567-1")
    assert (account["payment_terms_days"], account["e_invoice_address"]) == (14, None)  # the defaults
    prices = {
        "account_id": account["id"],
        "name": "Asiakas",
        "items": [{"product_id": support["id"], "unit_price": "35"}],
    }
    assert_problem(user.post("/price-lists", json=prices), 403)
    price_list = created(admin.post("/price-lists", json=prices))
    assert price_list["items"] == [{"product_id": support["id"], "unit_price": "35"}]
    assert_problem(admin.post("/price-lists", json=prices), 409)
    unknown = {"items": [{"product_id": "nosuch", "unit_price": "1"}]}
    assert_problem(admin.patch(f"/price-lists/{price_list['id']}", json=unknown), 422, "items.0.product_id")
    assert_problem(admin.post("/price-lists", json={**prices, "account_id": "nosuch"}), 422, "account_id")
    assert [p["id"] for p in walk(user, "/price-lists")] == [price_list["id"]]

    assert admin.delete(f"/products/{book['id']}").status_code == 204
    assert_problem(admin.get(f"/products/{book['id']}"), 404)
    assert created(admin.post("/products", json={**product, "code": "support"}))["code"] == "support"  # freed


def test_sales_orders_lines_statuses_bad_input_and_ownership(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    address = {"street": "Katu 1", "postal_code": "00100", "city": "Helsinki", "country": "FI"}
    billing = {"e_invoice_address": "003712345671", "e_invoice_operator": "ndeafihh", "payment_terms_days": 21}
    account = customer(stack, admin, business_id="1234567-1", **address, **billing)
    assert (account["name"], account["business_id"], account["billing_address"]) == (
        "Asiakas Oy",
        "1234567-1",
        address,
    )
    assert (account["e_invoice_address"], account["e_invoice_operator"]) == ("003712345671", "NDEAFIHH")
    assert (account["payment_terms_days"], account["consolidated"]) == (21, False)
    ok(admin.patch(f"/accounts/{account['id']}", json={"name": "Asiakas Abp"}))
    assert settle(stack, lambda: admin.get(f"/invoicing/customers/{account['id']}").json()["name"] == "Asiakas Abp")
    # A late copy of the older event (version 1) changes nothing: the projection keeps the higher version.
    [first] = [e for e in envelopes(stack, tenant, "account.created") if e["data"]["id"] == account["id"]]
    put_envelope(stack, {**first, "id": new_id()})
    drain(stack, busy_ok=True)
    assert ok(admin.get(f"/invoicing/customers/{account['id']}"))["name"] == "Asiakas Abp"
    assert ok(admin.patch(f"/invoicing/customers/{account['id']}", json={"consolidated": True}))["consolidated"] is True

    product = created(
        admin.post("/products", json={"code": "lic", "name": "Licence", "unit": "kpl", "unit_price": "10.00"})
    )
    price_list = created(
        admin.post(
            "/price-lists",
            json={
                "account_id": account["id"],
                "name": "Own",
                "items": [{"product_id": product["id"], "unit_price": "8.25"}],
            },
        )
    )
    lines = [
        {"product_id": product["id"], "quantity": "3", "discount_percent": "10"},
        {"description": "Setup", "quantity": "1", "unit_price": "150", "tax_class": "middle_2025"},
    ]
    body = {"account_id": account["id"], "interval": "quarterly", "start_date": "2026-01-31", "lines": lines}
    order = created(admin.post("/sales-orders", json=body))
    assert (order["status"], order["currency"], order["billing"], order["interval"]) == (
        "draft",
        "EUR",
        "arrears",
        "quarterly",
    )
    assert order["number"].startswith("SO-") and order["customer_name"] == "Asiakas Abp"
    first, second = order["lines"]
    assert (first["description"], first["unit"], first["unit_price"], first["tax_class"]) == (
        "Licence",
        "kpl",
        "8.25",  # the customer's price list, not the product's 10.00
        "standard",
    )
    assert (first["net_amount"], second["net_amount"], second["tax_class"]) == ("22.28", "150.00", "middle_2025")

    # Bad input: 422 naming the field, nothing written.
    def refused(change: dict[str, Any], field: str) -> None:
        assert_problem(admin.post("/sales-orders", json={**body, **change}), 422, field)

    refused({"lines": [{**lines[0], "quantity": "-1"}]}, "lines.0.quantity")
    refused({"lines": [lines[0], {**lines[1], "tax_class": "nosuch"}]}, "lines.1.tax_class")
    refused({"lines": [{**lines[0], "product_id": "nosuch"}]}, "lines.0.product_id")
    refused({"end_date": "2026-01-30"}, "end_date")
    refused({"currency": "XYZ"}, "currency")
    refused({"account_id": "nosuch"}, "account_id")
    assert [o["id"] for o in walk(admin, "/sales-orders")] == [order["id"]]
    credit = created(
        admin.post("/sales-orders", json={**body, "lines": [{**lines[0], "quantity": "-1", "credit": True}]})
    )
    assert credit["lines"][0]["net_amount"] == "-7.43"
    assert int(credit["number"][3:]) == int(order["number"][3:]) + 1  # refused creates took no number

    # The tenant's currencies: EUR by default, others added; a draft's currency changes among them;
    # an active order's is fixed (422 naming it, the order unchanged).
    assert ok(admin.get("/invoicing/currencies")) == {"default": "EUR", "codes": ["EUR"]}
    assert_problem(admin.patch(f"/sales-orders/{order['id']}", json={"currency": "SEK"}), 422, "currency")
    assert_problem(
        admin.as_(tenant, "user-1", "user").put("/invoicing/currencies", json={"codes": ["EUR", "SEK"]}), 403
    )
    assert_problem(admin.put("/invoicing/currencies", json={"codes": ["SEK"]}), 422, "codes")
    assert ok(admin.put("/invoicing/currencies", json={"codes": ["EUR", "SEK"]}))["codes"] == ["EUR", "SEK"]
    assert ok(admin.patch(f"/sales-orders/{order['id']}", json={"currency": "SEK"}))["currency"] == "SEK"
    assert_problem(admin.patch(f"/sales-orders/{order['id']}", json={"end_date": "2025-12-31"}), 422, "end_date")
    active = ok(admin.post(f"/sales-orders/{order['id']}/activate"))
    assert active["status"] == "active" and active["activated_at"]
    assert_problem(admin.patch(f"/sales-orders/{order['id']}", json={"currency": "EUR"}), 422, "currency")
    assert ok(admin.get(f"/sales-orders/{order['id']}"))["currency"] == "SEK"
    assert ok(admin.patch(f"/sales-orders/{order['id']}", json={"notes": "Q billing"}))["notes"] == "Q billing"
    assert_problem(admin.post(f"/sales-orders/{order['id']}/end", json={"end_date": "2025-01-01"}), 422, "end_date")
    ended = ok(admin.post(f"/sales-orders/{order['id']}/end", json={"end_date": "2026-12-31"}))
    assert (ended["status"], ended["end_date"]) == ("ended", "2026-12-31")
    assert_problem(admin.post(f"/sales-orders/{order['id']}/activate"), 409)
    assert_problem(admin.post(f"/sales-orders/{order['id']}/cancel"), 409)
    assert_problem(admin.patch(f"/sales-orders/{order['id']}", json={"notes": "late"}), 409)
    assert ok(admin.post(f"/sales-orders/{credit['id']}/cancel"))["status"] == "cancelled"
    assert [o["id"] for o in walk(admin, "/sales-orders", status="ended", account_id=account["id"])] == [order["id"]]

    # An inactive price list prices nothing: the product's own price holds.
    ok(admin.patch(f"/price-lists/{price_list['id']}", json={"active": False}))
    plain = created(admin.post("/sales-orders", json={**body, "lines": [lines[0]]}))
    assert (plain["lines"][0]["unit_price"], plain["lines"][0]["net_amount"]) == ("10.00", "27.00")

    # Ownership: a user's order is theirs; another user neither sees nor changes it.
    mine = admin.as_(tenant, "user-1", "user")
    theirs = admin.as_(tenant, "user-2", "user")
    assert_problem(mine.post("/sales-orders", json=body), 422, "account_id")  # the admin's account: out of sight
    assert_problem(mine.get(f"/invoicing/customers/{account['id']}"), 404)
    own_account = customer(stack, mine, name="Oma Oy")
    assert own_account["owner"] == {"type": "user", "id": "user-1"}
    assert_problem(theirs.get(f"/invoicing/customers/{own_account['id']}"), 404)
    assert_problem(theirs.post("/sales-orders", json={**body, "account_id": own_account["id"]}), 422, "account_id")
    assert [c["id"] for c in walk(mine, "/invoicing/customers")] == [own_account["id"]]
    own = created(mine.post("/sales-orders", json={**body, "account_id": own_account["id"]}))
    assert own["owner"] == {"type": "user", "id": "user-1"}
    assert_problem(theirs.get(f"/sales-orders/{own['id']}"), 404)
    assert_problem(theirs.patch(f"/sales-orders/{own['id']}", json={"notes": "x"}), 404)
    assert_problem(theirs.post(f"/sales-orders/{own['id']}/cancel"), 404)
    assert [o["id"] for o in walk(theirs, "/sales-orders")] == []
    assert [o["id"] for o in walk(mine, "/sales-orders")] == [own["id"]]
    assert len(walk(admin, "/sales-orders")) == 4

    # Unknown ids and another tenant's: 404.
    other = admin.as_(new_tenant(), "admin-9", "admin")
    for path in (f"/sales-orders/{order['id']}", "/sales-orders/nosuch", f"/products/{product['id']}"):
        assert_problem(other.get(path), 404)
    assert_problem(other.post(f"/sales-orders/{own['id']}/activate"), 404)
    assert_problem(other.get(f"/invoicing/customers/{account['id']}"), 404)

    drain(stack, busy_ok=True)
    events = [(e["type"], e["data"]["id"]) for e in envelopes(stack, tenant) if e["type"].startswith("sales_order.")]
    assert events[:5] == [
        ("sales_order.created", order["id"]),
        ("sales_order.created", credit["id"]),
        ("sales_order.updated", order["id"]),
        ("sales_order.activated", order["id"]),
        ("sales_order.updated", order["id"]),
    ]
    assert ("sales_order.ended", order["id"]) in events and ("sales_order.cancelled", credit["id"]) in events


def test_a_converted_contact_order_opens_one_draft_order(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    account = customer(stack, admin)
    contact_order = created(
        admin.post(
            "/contact-orders",
            json={
                "subject": "Boiler service",
                "account_id": account["id"],
                "hours_spent": 2.5,
                "planned_date": "2026-11-02",
            },
        )
    )
    converted = ok(admin.post(f"/contact-orders/{contact_order['id']}/convert"))
    order_id = converted["sales_order_id"]
    assert order_id == derived_id(contact_order["id"], "sales_order")
    assert settle(stack, lambda: admin.get(f"/sales-orders/{order_id}").status_code == 200)
    order = ok(admin.get(f"/sales-orders/{order_id}"))
    assert (order["status"], order["contact_order_id"], order["account_id"]) == (
        "draft",
        contact_order["id"],
        account["id"],
    )
    assert (order["start_date"], order["customer_name"], order["owner"]["id"]) == (
        "2026-11-02",
        "Asiakas Oy",
        "admin-1",
    )
    [line] = order["lines"]
    assert (line["quantity"], line["unit"], line["tax_class"]) == ("2.50", "h", "standard")
    assert contact_order["number"] in line["description"] and "Boiler service" in line["description"]

    # Delivered twice (the same event again, and a copy under a new event id): still one order.
    [event] = envelopes(stack, tenant, "contact_order.converted")
    put_envelope(stack, event)
    put_envelope(stack, {**event, "id": new_id()})
    drain(stack, busy_ok=True)
    assert [o["id"] for o in walk(admin, "/sales-orders", account_id=account["id"])] == [order_id]
    assert ok(admin.get(f"/sales-orders/{order_id}")) == order
    assert len([e for e in envelopes(stack, tenant, "sales_order.created") if e["data"]["id"] == order_id]) == 1
