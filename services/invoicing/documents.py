"""An issued invoice's documents (issue 22, item 7): its PDF and its Finvoice 3.0 XML, stored in S3.

`invoice.issued` (the invoicing consumer hears its own event, published through the outbox in the
issuing transaction, so no issued invoice goes without) builds the document (`domain/document.
make_document`: the seller from the tenant's settings, the buyer from the customer projection),
renders both (`domain/pdf.py`, `domain/finvoice.py`: imported here only, in the consumer, never in
the API function) and puts them at `<tenant>/invoices/<id>/<number>.pdf|.xml` in
`InvoicingDocumentsBucket`; the invoice's `document_keys` then names the keys. A redelivered event
renders and puts the same objects again (a put overwrites), and sets the same keys.
`GET /invoices/{id}` answers with short-lived presigned download links (`invoices.document_links`).

A buyer's business id that fails the kernel's rule (an account stored before the directory checked
it) is printed in its right form when it is a right one written another way (`12345671`), else
left out of both documents, with a warning in the log, rather than failing the delivery:
the invoice has its number already, and a Finnish invoice is lawful without the buyer's id
(docs/decisions.md 2026-12-05).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.invoicing import customers, invoices
from services.invoicing.domain.document import Address, InvoiceDocument, Party, make_document
from services.invoicing.service import Caller, service_caller
from services.invoicing.settings import InvoicingSettings
from services.invoicing.store import Record
from services.invoicing.subscriptions import subscribe
from shared import files
from shared.business_ids import stored_business_id
from shared.events import Envelope
from shared.observability import logger
from shared.settings import load
from shared.store import UnitOfWork

PDF, FINVOICE = "application/pdf", "application/xml"


def _text(value: Any, default: str = "-") -> str:
    return str(value).strip() if value and str(value).strip() else default


def buyer_business_id(data: dict[str, Any], buyer: dict[str, Any], country: str) -> str | None:
    """The buyer's business id as the documents show it: a Finnish buyer's, printed, when it is a right one."""
    given = buyer.get("business_id")
    if country != "FI" or not given:
        return None
    printed = stored_business_id(str(given))
    if printed:
        return printed
    logger.warning(
        "invoice documents without the buyer's business id: it has a wrong form or check digit",
        extra={"invoice_number": data.get("number"), "account_id": data.get("account_id"), "business_id": given},
    )
    return None


def document_of(caller: Caller, data: dict[str, Any]) -> InvoiceDocument:
    """The document of an issued invoice (or credit note) as stored."""
    seller = invoices.settings(caller).seller
    if seller is None:
        raise ValueError("an issued invoice without the seller's details")
    record = caller.store.get(caller.tenant, customers.CUSTOMER, data["account_id"])
    buyer = record.data if record else {"name": data.get("customer_name")}
    address = buyer.get("billing_address") or {}
    country = _text(address.get("country"), "FI").upper()
    return make_document(
        kind=data["kind"],
        number=data["number"],
        issue_date=date.fromisoformat(data["issue_date"]),
        due_date=date.fromisoformat(data["due_date"]),
        seller=Party(
            name=seller.name,
            business_id=seller.business_id,
            address=Address(
                street=seller.address.street,
                postal_code=seller.address.postal_code,
                city=seller.address.city,
                country_code=seller.address.country_code,
            ),
            email=seller.email,
            phone=seller.phone,
            einvoice_address=seller.einvoice_address,
            einvoice_operator=seller.einvoice_operator,
        ),
        buyer=Party(
            name=_text(buyer.get("name"), "?"),
            business_id=buyer_business_id(data, buyer, country),
            address=Address(
                street=_text(address.get("street")),
                postal_code=_text(address.get("postal_code")),
                city=_text(address.get("city")),
                country_code=country if len(country) == 2 else "FI",
            ),
            email=buyer.get("email"),
            einvoice_address=buyer.get("e_invoice_address"),
            einvoice_operator=buyer.get("e_invoice_operator"),
        ),
        lines=invoices.lines_of(data),
        iban=seller.iban,
        bic=seller.bic,
        reference=data["reference"],
        terms_days=data.get("payment_terms_days"),
        delivery_start=date.fromisoformat(data["delivery_start"]) if data.get("delivery_start") else None,
        delivery_end=date.fromisoformat(data["delivery_end"]) if data.get("delivery_end") else None,
        currency=data["currency"],
        credited_invoice_number=data.get("credited_invoice_number"),
        order_reference=None,
    )


def _bucket() -> str:
    return load(InvoicingSettings).documents_bucket


@subscribe("invoice.issued")
def render_documents(envelope: Envelope, uow: UnitOfWork) -> None:
    from services.invoicing.domain.finvoice import render_finvoice
    from services.invoicing.domain.pdf import render_pdf

    caller = service_caller(envelope.tenant_id, open_tenant=False)
    invoice_id = str(envelope.data["id"])
    record = caller.store.get(caller.tenant, invoices.INVOICE, invoice_id)
    if record is None or not record.data.get("number"):
        return
    data = record.data
    document = document_of(caller, data)
    sent = datetime.fromisoformat(str(data.get("issued_at") or envelope.occurred_at.isoformat())).astimezone(UTC)
    prefix = f"{caller.tenant}/invoices/{invoice_id}/{data['number']}"
    keys = {"pdf": f"{prefix}.pdf", "finvoice": f"{prefix}.xml"}
    bucket = _bucket()
    files.put(bucket, keys["pdf"], render_pdf(document, created=sent), PDF)
    files.put(bucket, keys["finvoice"], render_finvoice(document, message_id=invoice_id, sent=sent), FINVOICE)
    if data.get("document_keys") != keys:
        uow.update(record, [Record.fields["document_keys"].set(keys)], check_version=False)
