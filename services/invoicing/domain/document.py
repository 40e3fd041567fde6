"""The invoice document: everything the PDF (pdf.py) and the Finvoice XML (finvoice.py) show, as one
pydantic model that crosses boundaries (stored with the invoice, handed to the renderers).

`make_document` builds it from the parties, the lines and the payment details, computing what is
derived (the VAT breakdown and totals by vat.py's rule, the national reference's RF form, the
virtual bank barcode), so that the two renderings cannot disagree; `InvoiceDocument` checks on
validation that the breakdown and totals it carries are those of its lines.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.business_ids import InvalidBusinessId, check_business_id

from .barcode import virtual_barcode
from .references import (
    InvalidIdentifier,
    format_iban,
    format_national,
    format_rf,
    rf_reference,
    validate_bic,
    validate_iban,
    validate_national,
)
from .vat import Line, Totals, VatRow, totals, vat_breakdown

Kind = Literal["invoice", "credit_note"]


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    street: str
    postal_code: str
    city: str
    country_code: str = "FI"


class Party(BaseModel):
    """A seller or a buyer: name, business id (Y-tunnus, printed form), VAT number, address, e-invoice address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    business_id: str | None = None
    vat_number: str | None = None  # "FI07375462"; None: derived from a Finnish business id
    address: Address
    email: str | None = None
    phone: str | None = None
    einvoice_address: str | None = None  # OVT / e-invoice address, e.g. "003707375462"
    einvoice_operator: str | None = None  # the operator's id (intermediator), e.g. "003721291126"
    contact_name: str | None = None

    @property
    def vat_id(self) -> str | None:
        if self.vat_number:
            return self.vat_number
        if self.business_id and self.address.country_code == "FI":
            return "FI" + self.business_id.replace("-", "")
        return None


class DocumentLine(Line):
    """An invoice line with what the documents show besides the arithmetic."""

    product_code: str | None = None
    order_reference: str | None = None  # the sales order, for lines grouped by order (consolidated invoices)


class Payment(BaseModel):
    """How to pay: the seller's account, the reference (national and RF forms), due date, amount, barcode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    iban: str
    bic: str
    reference: str  # the national reference, electronic form
    rf_reference: str  # its RF creditor reference form, electronic form
    due_date: dt.date
    amount: Decimal  # what is to be paid: the gross total (negative on a credit note)
    terms_days: int | None = None
    overdue_interest_percent: Decimal | None = None
    barcode: str | None = None  # the 54 digits; None on a credit note
    barcode_version: Literal[4, 5] = 4

    @property
    def iban_printed(self) -> str:
        return format_iban(self.iban)

    @property
    def reference_printed(self) -> str:
        return format_national(self.reference)

    @property
    def rf_reference_printed(self) -> str:
        return format_rf(self.rf_reference)


class InvoiceDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind = "invoice"
    number: str = Field(min_length=1, max_length=20)
    issue_date: dt.date
    delivery_start: dt.date | None = None
    delivery_end: dt.date | None = None
    currency: str = "EUR"
    seller: Party
    buyer: Party
    lines: list[DocumentLine] = Field(min_length=1)
    vat_breakdown: list[VatRow]
    totals: Totals
    payment: Payment
    credited_invoice_number: str | None = None
    credited_invoice_date: dt.date | None = None
    buyer_reference: str | None = None  # "Viitteenne"
    order_reference: str | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.vat_breakdown != vat_breakdown(self.lines):
            raise ValueError("vat_breakdown: not the breakdown of the lines")
        if self.totals != totals(self.vat_breakdown):
            raise ValueError("totals: not the sums of the breakdown")
        if self.payment.amount != self.totals.gross:
            raise ValueError("payment.amount: not the gross total")
        if self.kind == "credit_note" and not self.credited_invoice_number:
            raise ValueError("credited_invoice_number: a credit note names the invoice it credits")
        return self

    @property
    def grouped_lines(self) -> list[tuple[str | None, list[DocumentLine]]]:
        """The lines grouped by sales order, in the order the orders first appear."""
        groups: dict[str | None, list[DocumentLine]] = {}
        for line in self.lines:
            groups.setdefault(line.order_reference, []).append(line)
        return list(groups.items())


def make_document(
    *,
    number: str,
    issue_date: dt.date,
    due_date: dt.date,
    seller: Party,
    buyer: Party,
    lines: list[DocumentLine],
    iban: str,
    bic: str,
    reference: str,
    kind: Kind = "invoice",
    barcode_version: Literal[4, 5] = 4,
    terms_days: int | None = None,
    overdue_interest_percent: Decimal | None = None,
    delivery_start: dt.date | None = None,
    delivery_end: dt.date | None = None,
    currency: str = "EUR",
    credited_invoice_number: str | None = None,
    credited_invoice_date: dt.date | None = None,
    buyer_reference: str | None = None,
    order_reference: str | None = None,
    notes: str | None = None,
) -> InvoiceDocument:
    """The document with everything derived computed and every identifier validated (references.InvalidIdentifier
    names the one that is not valid). A credit note, and an invoice in another currency than euro, has no barcode."""
    account, bank = validate_iban(iban), validate_bic(bic)
    national = validate_national(reference)
    rf = rf_reference(national)
    seller = _checked_party(seller, "seller")
    buyer = _checked_party(buyer, "buyer")
    breakdown = vat_breakdown(lines)
    total = totals(breakdown)
    code = None
    if kind == "invoice" and currency == "EUR" and total.gross >= 0 and account.startswith("FI"):
        code = virtual_barcode(account, rf if barcode_version == 5 else national, total.gross, due_date)
    payment = Payment(
        iban=account,
        bic=bank,
        reference=national,
        rf_reference=rf,
        due_date=due_date,
        amount=total.gross,
        terms_days=terms_days,
        overdue_interest_percent=overdue_interest_percent,
        barcode=code,
        barcode_version=barcode_version,
    )
    return InvoiceDocument(
        kind=kind,
        number=number,
        issue_date=issue_date,
        delivery_start=delivery_start,
        delivery_end=delivery_end,
        currency=currency,
        seller=seller,
        buyer=buyer,
        lines=lines,
        vat_breakdown=breakdown,
        totals=total,
        payment=payment,
        credited_invoice_number=credited_invoice_number,
        credited_invoice_date=credited_invoice_date,
        buyer_reference=buyer_reference,
        order_reference=order_reference,
        notes=notes,
    )


def _checked_party(party: Party, role: str) -> Party:
    if party.business_id and party.address.country_code == "FI":
        try:
            business_id = check_business_id(party.business_id)
        except InvalidBusinessId as error:
            raise InvalidIdentifier(f"{role}.business_id", error.value, error.reason) from None
        return party.model_copy(update={"business_id": business_id})
    return party
