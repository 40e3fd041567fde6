"""Business ids on invoices (the kernel's Y-tunnus rule, shared/business_ids.py) through `kontakt dev`:
the seller's is checked (422 naming `seller.business_id`), and a customer account stored before the
directory checked its business id still gets its invoice: issued, its PDF and Finvoice rendered
without the wrong id, nothing on the invoicing consumer's dead-letter queue (docs/decisions.md
2026-12-05). One tenant, one test (the suite is at its time budget)."""

from __future__ import annotations

from datetime import UTC, datetime

import requests

from infra.runtime import LocalRuntime
from services.invoicing.domain.periods import add_months
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, ok, record_item_key, settle, table_name, walk
from tests.e2e.invoicing.test_billing_runs import run_now
from tests.e2e.invoicing.test_catalogue_and_orders import customer

SELLER = {
    "name": "Myyjä Oy",
    "business_id": "0737546-2",
    "address": {"street": "Katu 1", "postal_code": "00100", "city": "Helsinki"},
    "iban": "FI49 5000 9420 0287 30",
    "bic": "OKOYFIHH",
}
LEGACY = "1234567-8"  # a wrong check digit (1234567-1 is right), as the directory stored it before the rule


def _store_legacy_business_id(stack: LocalRuntime, tenant: str, account_id: str) -> None:
    """The directory's stored account as it was before the rule: with a wrong business id."""
    stack.client("dynamodb").update_item(
        TableName=table_name(stack, "DirectoryTable"),
        Key=record_item_key(tenant, "account", account_id),
        UpdateExpression="SET #data.#id = :bad",
        ExpressionAttributeNames={"#data": "data", "#id": "business_id"},
        ExpressionAttributeValues={":bad": {"S": LEGACY}},
    )


def _dead_letters(stack: LocalRuntime) -> list[str]:
    sqs = stack.client("sqs")
    dlq = sqs.get_queue_url(QueueName="kontakt-dev-invoicing-events-dlq")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [m["Body"] for m in messages]


def test_a_stored_wrong_business_id_is_left_off_the_documents_of_an_issued_invoice(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    wrong = {**SELLER, "business_id": "0737546-3"}
    assert_problem(admin.patch("/invoicing/settings", json={"seller": wrong}), 422, "seller.business_id")
    assert ok(admin.get("/invoicing/settings"))["seller"] is None  # nothing written
    assert ok(admin.patch("/invoicing/settings", json={"seller": SELLER}))["seller"]["business_id"] == "0737546-2"

    address = {"street": "Teollisuuskatu 21", "postal_code": "00510", "city": "Helsinki", "country": "FI"}
    account = customer(stack, admin, business_id="1234567-1", **address)
    _store_legacy_business_id(stack, tenant, account["id"])
    # A change of another field passes (the stored id is not the request's); the event carries the record.
    assert ok(admin.patch(f"/accounts/{account['id']}", json={"phone": "+358 9 555 0101"}))["business_id"] == LEGACY
    projected = settle(stack, lambda: ok(admin.get(f"/invoicing/customers/{account['id']}"))["business_id"] == LEGACY)
    assert projected, "invoicing never heard of the account's stored business id"

    start = add_months(datetime.now(UTC).date(), -1).isoformat()
    line = {"description": "Tuki", "quantity": "1", "unit_price": "100.00", "tax_class": "standard"}
    order = created(
        admin.post(
            "/sales-orders",
            json={"account_id": account["id"], "interval": "monthly", "start_date": start, "lines": [line]},
        )
    )
    ok(admin.post(f"/sales-orders/{order['id']}/activate"))
    assert run_now(admin, stack)["invoices_made"] == 1
    (draft,) = walk(admin, "/invoices")
    issued = ok(admin.post(f"/invoices/{draft['id']}/issue"))
    assert (issued["status"], issued["number"]) == ("issued", "1")

    documents = settle(stack, lambda: ok(admin.get(f"/invoices/{draft['id']}")).get("documents"))
    assert documents, "the invoice's documents were never rendered"
    pdf, xml = (requests.get(documents[name], timeout=30) for name in ("pdf_url", "finvoice_url"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert xml.status_code == 200 and b"<InvoiceNumber>1<" in xml.content
    assert b"<SellerPartyIdentifier>0737546-2<" in xml.content  # the seller's, checked when set
    assert b"BuyerPartyIdentifier" not in xml.content and LEGACY.encode() not in xml.content
    assert b"FI12345678" not in xml.content  # nor a VAT number made from it
    assert not [body for body in _dead_letters(stack) if draft["id"] in body]
