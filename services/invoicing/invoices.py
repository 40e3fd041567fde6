"""Invoices and the tenant's invoicing settings (issue 22, item 6).

Records: kind "invoice", id a new id, data {kind, status, number, sequence, account_id,
customer_name, currency, lines (DocumentLine JSON), vat_breakdown, totals, delivery_start,
delivery_end, periods [{order_id, order_number, start, end}], run_id, issue_date, due_date,
payment_terms_days, reference, rf_reference, barcode, credited_invoice_id/number, credit_note_id,
created_at, issued_at, paid_at, credited_at}; listed under the customer (`by_account`).

A billing run makes drafts (billing_runs.py): a draft has no number. Issuing takes the tenant's
next invoice number from the kernel's counter (`UnitOfWork.take_number`) in the transaction that
writes the issued invoice, so numbers have no gaps (a failed issue takes none); the national
reference is made from that number (`reference_for`), the due date from the customer's payment
terms (else the tenant's), and the virtual bank barcode from the seller's IBAN. The tenant's
setting `issue_on_run` makes a run issue its invoices at once, in the transaction that writes them.
A credit note is issued when made, with the negated lines, and the credited invoice becomes
`credited` in the same transaction.

Who: managers and admins (invoices show every customer's money); runs and settings changes: admins.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from services.invoicing import customers
from services.invoicing.domain.barcode import virtual_barcode
from services.invoicing.domain.billing import due_date, reference_for
from services.invoicing.domain.document import DocumentLine
from services.invoicing.domain.invoices import (
    Invoice,
    InvoiceDocuments,
    InvoiceKind,
    InvoiceStatus,
    InvoiceSummary,
    InvoicingSettings,
    InvoicingSettingsUpdate,
)
from services.invoicing.domain.references import rf_reference
from services.invoicing.domain.vat import credit_lines, totals, vat_breakdown
from services.invoicing.events import InvoiceChanged
from services.invoicing.service import INVOICES, Caller, register_default
from services.invoicing.settings import InvoicingSettings as FunctionSettings
from services.invoicing.store import Record
from shared import clock, files
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.merges import redirect_if_merged
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, model_of, partition_page
from shared.settings import load
from shared.store import UnitOfWork, tenant_key

INVOICE = "invoice"
COUNTER = "invoice"  # the kernel counter of invoice numbers
SETTING = "invoicing"

register_default(SETTING, lambda: InvoicingSettings().model_dump(mode="json", exclude={"version"}))


def settings(caller: Caller) -> InvoicingSettings:
    return InvoicingSettings.model_validate(caller.setting(SETTING))


def get_settings(caller: Caller) -> InvoicingSettings:
    caller.require(Action.VIEW, INVOICES)
    record = caller.address_setting(SETTING)
    return InvoicingSettings.model_validate(record)


def update_settings(caller: Caller, body: InvoicingSettingsUpdate) -> InvoicingSettings:
    caller.require_admin()
    current = caller.address_setting(SETTING)
    merged = {k: v for k, v in current.items() if k != "version"}
    for name, value in body.model_dump(mode="json", exclude_unset=True).items():
        if value is None:  # a merge patch's null: back to the default (no seller)
            merged.pop(name, None)
        else:
            merged[name] = value
    value = InvoicingSettings.model_validate(merged).model_dump(mode="json", exclude={"version"})
    caller.save_setting(SETTING, value)
    return InvoicingSettings.model_validate(value)


# ----------------------------------------------------------------------------- amounts of a line set


def amounts(lines: list[DocumentLine]) -> dict[str, Any]:
    """The VAT breakdown and totals of the lines (vat.py's rule), as stored."""
    breakdown = vat_breakdown(lines)
    return {
        "vat_breakdown": [row.model_dump(mode="json") for row in breakdown],
        "totals": totals(breakdown).model_dump(mode="json"),
    }


def lines_of(data: dict[str, Any]) -> list[DocumentLine]:
    return [DocumentLine.model_validate(line) for line in data.get("lines", [])]


def stored_lines(lines: list[DocumentLine]) -> list[dict[str, Any]]:
    return [line.model_dump(mode="json") for line in lines]


# ----------------------------------------------------------------------------- issuing


def issue_fields(caller: Caller, uow: UnitOfWork, data: dict[str, Any], today: date) -> dict[str, Any]:
    """What issuing adds to an invoice's data, the number taken in `uow` (the issuing transaction).
    409 when the tenant has no seller details yet (no account to pay to)."""
    seller = settings(caller).seller
    if seller is None:
        raise Conflict("Set the seller's details first (PATCH /invoicing/settings): an invoice names the account.")
    sequence = uow.take_number(caller.tenant, COUNTER)
    reference = reference_for(sequence)
    customer = caller.store.get(caller.tenant, customers.CUSTOMER, data["account_id"])
    terms = (customer.data if customer else {}).get("payment_terms_days")
    terms = int(terms) if terms is not None else settings(caller).payment_terms_days
    due = due_date(today, terms)
    gross = Decimal(str(data["totals"]["gross"]))
    code = None
    if data["kind"] == InvoiceKind.invoice.value and data["currency"] == "EUR" and gross >= 0:
        code = virtual_barcode(seller.iban, reference, gross, due) if seller.iban.startswith("FI") else None
    now = clock.now().isoformat()
    return {
        "status": InvoiceStatus.issued.value,
        "number": str(sequence),
        "sequence": sequence,
        "issue_date": today.isoformat(),
        "due_date": due.isoformat(),
        "payment_terms_days": terms,
        "reference": reference,
        "rf_reference": rf_reference(reference),
        "barcode": code,
        "issued_at": now,
        "updated_at": now,
    }


def _event(caller: Caller, event_type: str, record: Record) -> Any:
    data = record.data
    payload = InvoiceChanged(
        id=record.record_id,
        kind=data["kind"],
        status=data["status"],
        number=data.get("number"),
        account_id=data["account_id"],
        currency=data["currency"],
        total=str(data["totals"]["gross"]),
        issue_date=data.get("issue_date"),
        due_date=data.get("due_date"),
        reference=data.get("reference"),
        credited_invoice_id=data.get("credited_invoice_id"),
        run_id=data.get("run_id"),
    )
    return caller.event(event_type, payload)


def new_invoice(caller: Caller, uow: UnitOfWork, data: dict[str, Any], *, issue: bool) -> Record:
    """A new invoice record (a draft, or issued when `issue`) staged in `uow` with its events."""
    now = clock.now().isoformat()
    stored = {"status": InvoiceStatus.draft.value, "created_at": now, "updated_at": now, **data}
    if issue:
        stored.update(issue_fields(caller, uow, stored, clock.now().date()))
    record = caller.store.new(caller.tenant, INVOICE, new_id(), stored)
    record.link_account(caller.tenant, stored["account_id"])
    caller.store.add(uow, record)
    uow.publish(_event(caller, "invoice.created", record))
    if issue:
        uow.publish(_event(caller, "invoice.issued", record))
    return record


# ----------------------------------------------------------------------------- the API's operations


def record_for(caller: Caller, invoice_id: str) -> Record:
    caller.require(Action.VIEW, INVOICES)
    record = caller.store.get(caller.tenant, INVOICE, invoice_id)
    if record is None:
        raise NotFound(f"No invoice {invoice_id}.")
    return record


def get_invoice(caller: Caller, invoice_id: str) -> Invoice:
    record = record_for(caller, invoice_id)
    invoice = model_of(record, Invoice)
    links = document_links(invoice_id, record.data)
    return invoice.model_copy(update={"documents": links}) if links else invoice


def document_links(invoice_id: str, data: dict[str, Any]) -> InvoiceDocuments | None:
    """Presigned download links of the invoice's documents (None until documents.py rendered them)."""
    keys = data.get("document_keys")
    if not keys:
        return None
    bucket, number = load(FunctionSettings).documents_bucket, data.get("number") or invoice_id
    return InvoiceDocuments(
        pdf_url=files.presign_download(bucket, keys["pdf"], f"{number}.pdf", "application/pdf"),
        finvoice_url=files.presign_download(bucket, keys["finvoice"], f"finvoice-{number}.xml", "application/xml"),
        einvoice_url=files.presign_download(bucket, data["einvoice_key"], f"einvoice-{number}.xml", "application/xml")
        if data.get("einvoice_key")
        else None,
    )


def list_invoices(
    caller: Caller,
    cursor: str | None,
    limit: int,
    account_id: str | None = None,
    status: InvoiceStatus | None = None,
) -> Page[InvoiceSummary]:
    caller.require(Action.VIEW, INVOICES)
    tenant = caller.tenant
    redirect_if_merged(caller.store, tenant, account=account_id)  # 301 to the survivor's
    if account_id:
        index, key, sort_key = Record.by_account, tenant_key(tenant, "ACCOUNT", account_id, "INVOICE"), Record.gsi2sk
    else:
        index, key, sort_key = Record.by_type, tenant_key(tenant, INVOICE.upper()), Record.gsi1sk
    condition = (Record.fields["status"] == status.value) if status else None
    asked = json.dumps({"account_id": account_id, "status": status.value if status else None}, sort_keys=True)
    scope = f"invoices:{hashlib.sha256(asked.encode()).hexdigest()[:24]}"
    return partition_page(caller, scope, cursor, limit, index, key, sort_key, InvoiceSummary, condition=condition)


def issue_invoice(caller: Caller, invoice_id: str) -> Invoice:
    """draft -> issued: the number taken in this transaction (asked again: the issued invoice)."""

    def run() -> Invoice:
        record = record_for(caller, invoice_id)
        caller.require(Action.CHANGE, INVOICES)
        status = record.data["status"]
        if status != InvoiceStatus.draft.value:
            if status == InvoiceStatus.issued.value:
                return model_of(record, Invoice)
            raise Conflict(f"A {status} invoice is not issued again.")
        uow = UnitOfWork()
        after = {**record.data, **issue_fields(caller, uow, record.data, clock.now().date())}
        caller.store.replace(uow, record, after)
        uow.publish(_event(caller, "invoice.issued", record))
        uow.commit()
        return model_of(record, Invoice)

    return commit(run)


def mark_paid(caller: Caller, invoice_id: str) -> Invoice:
    """issued -> paid (asked again: the paid invoice)."""

    def run() -> Invoice:
        record = record_for(caller, invoice_id)
        caller.require(Action.CHANGE, INVOICES)
        status = record.data["status"]
        if status == InvoiceStatus.paid.value:
            return model_of(record, Invoice)
        if status != InvoiceStatus.issued.value or record.data["kind"] != InvoiceKind.invoice.value:
            raise Conflict(f"Only an issued invoice is paid (this one is {status}).")
        now = clock.now().isoformat()
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, "status": "paid", "paid_at": now, "updated_at": now})
        uow.publish(_event(caller, "invoice.paid", record))
        uow.commit()
        return model_of(record, Invoice)

    return commit(run)


def credit_invoice(caller: Caller, invoice_id: str) -> Invoice:
    """A credit note of an issued (or paid) invoice, issued at once with the negated lines and its own
    number; the invoice becomes `credited` in the same transaction. Returns the credit note."""

    def run() -> Invoice:
        record = record_for(caller, invoice_id)
        caller.require(Action.CHANGE, INVOICES)
        data = record.data
        if data.get("credit_note_id"):
            return model_of(record_for(caller, data["credit_note_id"]), Invoice)
        if data["kind"] != InvoiceKind.invoice.value or data["status"] not in ("issued", "paid"):
            raise Conflict(f"Only an issued or paid invoice is credited (this one is {data['status']}).")
        lines = [DocumentLine.model_validate(line.model_dump()) for line in credit_lines(lines_of(data))]
        uow = UnitOfWork()
        note = new_invoice(
            caller,
            uow,
            {
                "kind": InvoiceKind.credit_note.value,
                "account_id": data["account_id"],
                "customer_name": data.get("customer_name"),
                "currency": data["currency"],
                "lines": stored_lines(lines),
                **amounts(lines),
                "delivery_start": data.get("delivery_start"),
                "delivery_end": data.get("delivery_end"),
                "periods": data.get("periods", []),
                "credited_invoice_id": record.record_id,
                "credited_invoice_number": data.get("number"),
            },
            issue=True,
        )
        now = clock.now().isoformat()
        after = {**data, "status": "credited", "credit_note_id": note.record_id, "credited_at": now, "updated_at": now}
        caller.store.replace(uow, record, after)
        uow.publish(_event(caller, "invoice.credited", record))
        uow.commit()
        return model_of(note, Invoice)

    return commit(run)
