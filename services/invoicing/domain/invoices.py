"""Invoices, billing runs and the tenant's invoicing settings as the API shows them (issue 22, items 3-6).

An invoice is made by a billing run as a draft (no number, no reference: the numbers have no
gaps, so a draft that is never issued takes none); issuing takes the tenant's next number, and
with it the national reference (7-3-1), its RF form, the due date from the customer's payment
terms and the virtual bank barcode. Statuses draft -> issued -> paid or credited; a credit note
is issued when made and names the invoice it credits.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from services.invoicing.domain.catalogue import Amount
from services.invoicing.domain.references import InvalidIdentifier, validate_bic, validate_iban
from shared.business_ids import RULE as BUSINESS_ID_RULE
from shared.types import OUTPUT, BusinessId, input_config

PartialMode = Literal["prorate", "bill_whole"]


class InvoiceStatus(StrEnum):
    draft = "draft"
    issued = "issued"
    paid = "paid"
    credited = "credited"


class InvoiceKind(StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"


class InvoiceLine(BaseModel):
    model_config = OUTPUT

    description: str
    product_code: str | None = None
    order_reference: str | None = Field(None, description="The sales order (number) the line bills")
    quantity: Amount
    unit: str = ""
    unit_price: Amount
    discount_percent: Amount
    vat_rate: Amount
    period_start: date | None = None
    period_end: date | None = None
    proration: list[int] | None = Field(None, description="[numerator, denominator]: the share of the period billed")
    net: Amount = Field(description="The line's total without VAT, rounded once to cents (ROUND_HALF_UP)")


class VatRowOut(BaseModel):
    model_config = OUTPUT

    rate: Amount
    net: Amount
    vat: Amount
    gross: Amount


class TotalsOut(BaseModel):
    model_config = OUTPUT

    net: Amount
    vat: Amount
    gross: Amount


class BilledPeriod(BaseModel):
    model_config = OUTPUT

    order_id: str
    order_number: str
    start: date
    end: date


class InvoiceSummary(BaseModel):
    model_config = OUTPUT

    id: str
    kind: InvoiceKind
    status: InvoiceStatus
    number: str | None = Field(None, description="None while a draft: the number is taken when it is issued")
    account_id: str
    customer_name: str | None = None
    currency: str
    totals: TotalsOut
    issue_date: date | None = None
    due_date: date | None = None
    created_at: datetime


class InvoiceDocuments(BaseModel):
    model_config = OUTPUT

    pdf_url: str = Field(description="The PDF, a presigned download link valid for 5 minutes")
    finvoice_url: str = Field(description="The Finvoice 3.0 XML, a presigned download link valid for 5 minutes")
    einvoice_url: str | None = Field(None, description="Once sent as an e-invoice: the SOAP envelope and Finvoice")


class InvoiceSent(BaseModel):
    model_config = OUTPUT

    channel: Literal["email", "einvoice"]
    to: str | None = None
    at: datetime
    request_id: str = Field(description="email: the email.send_requested's request id")


class Invoice(InvoiceSummary):
    delivery_start: date | None = None
    delivery_end: date | None = None
    lines: list[InvoiceLine]
    vat_breakdown: list[VatRowOut] = Field(description="Per rate, highest first: VAT on the sum of the rounded lines")
    periods: list[BilledPeriod] = Field(default_factory=list, description="The (sales order, period) pairs it bills")
    reference: str | None = Field(None, description="The national reference (7-3-1 check digit), once issued")
    rf_reference: str | None = Field(None, description="Its RF creditor reference form (ISO 11649)")
    barcode: str | None = Field(None, description="The virtual bank barcode (pankkiviivakoodi) v4, 54 digits")
    payment_terms_days: int | None = None
    run_id: str | None = None
    credited_invoice_id: str | None = Field(None, description="A credit note: the invoice it credits")
    credited_invoice_number: str | None = None
    credit_note_id: str | None = Field(None, description="A credited invoice: its credit note")
    issued_at: datetime | None = None
    paid_at: datetime | None = None
    credited_at: datetime | None = None
    sent: list[InvoiceSent] = Field(default_factory=list, description="Every send (POST /invoices/{id}/send)")
    documents: InvoiceDocuments | None = Field(
        None, description="Once issued and rendered (a moment after issuing): the PDF and Finvoice files"
    )
    version: int = 1


class SellerAddress(BaseModel):
    model_config = input_config()

    street: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country_code: str = Field("FI", pattern=r"^[A-Z]{2}$")


class Seller(BaseModel):
    """The tenant as the seller on its invoices; identifiers validated (422 naming the field)."""

    model_config = input_config()

    name: str = Field(min_length=1, max_length=200)
    business_id: BusinessId = Field(description=BUSINESS_ID_RULE)
    address: SellerAddress
    iban: str = Field(
        pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{8,40}$",
        description="The account invoices are paid to (wrong check digits or length: 422 `check_digit`)",
    )
    bic: str = Field(pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$", description="The bank's BIC (8 or 11 characters)")
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=50)
    einvoice_address: str | None = Field(None, max_length=35, description="The seller's e-invoice address (OVT)")
    einvoice_operator: str | None = Field(None, max_length=35, description="The seller's operator (intermediator)")

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        return _valid(validate_iban, value)

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str) -> str:
        return _valid(validate_bic, value)


def _valid(check: object, value: str) -> str:
    try:
        return check(value)  # type: ignore[operator,no-any-return]
    except InvalidIdentifier as error:
        raise PydanticCustomError("check_digit", "{reason}", {"reason": error.reason}) from None


class InvoicingSettings(BaseModel):
    model_config = OUTPUT

    seller: Seller | None = Field(None, description="Needed before an invoice is issued (409 otherwise)")
    partial_periods: PartialMode = Field(
        "prorate", description="A first or last partial period: prorated by days, or billed whole"
    )
    issue_on_run: bool = Field(False, description="A run issues its invoices at once (else it makes drafts)")
    payment_terms_days: int = Field(14, description="When the customer has none")
    email_template_id: str | None = Field(
        None, description="The email template of a mailed invoice (its tags read `invoice.*`); none: a plain text"
    )
    version: int = 1


class InvoicingSettingsUpdate(BaseModel):
    model_config = input_config()

    seller: Seller | None = None
    partial_periods: PartialMode | None = None
    issue_on_run: bool | None = None
    payment_terms_days: int | None = Field(None, ge=0, le=365)
    email_template_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class RunCreate(BaseModel):
    model_config = input_config()

    as_of: date | None = Field(None, description="Bill the periods ended before this day (default today; not future)")
    consolidated: bool = Field(False, description="One invoice per customer, whatever the customers' setting")


class RunState(StrEnum):
    queued = "queued"  # recorded, its first chunk on the jobs queue
    running = "running"  # some chunks billed
    done = "done"
    failed = "failed"  # could not be queued (`error`)


class PlannedInvoice(BaseModel):
    model_config = OUTPUT

    account_id: str
    customer_name: str | None = None
    currency: str
    periods: list[BilledPeriod]
    totals: TotalsOut
    invoice_id: str | None = Field(None, description="The invoice made (None in a preview)")


class RunProblem(BaseModel):
    model_config = OUTPUT

    order_id: str
    field: str
    message: str


class Run(BaseModel):
    model_config = OUTPUT

    id: str
    state: RunState
    as_of: date
    origin: Literal["manual", "schedule"]
    consolidated: bool = False
    orders_seen: int = 0
    invoices_made: int = 0
    periods_billed: int = 0
    already_billed: int = Field(0, description="Periods another run (or an earlier try) had billed")
    problems: list[RunProblem] = Field(
        default_factory=list, description="Orders that could not be billed (the first 50)"
    )
    chunks_done: int = Field(0, description="Chunks billed (a chunk: a page of the tenant's sales orders)")
    error: str | None = Field(None, description="Why a failed run stopped")
    started_at: datetime
    finished_at: datetime | None = None
    started_by: str | None = None


class RunPreview(BaseModel):
    """A page of a run's plan: the invoices the run would make of a page of sales orders."""

    model_config = OUTPUT

    as_of: date
    orders_seen: int = Field(description="Sales orders of this page, with a consolidated customer's others")
    invoices: list[PlannedInvoice]
    problems: list[RunProblem] = Field(default_factory=list)
    next_cursor: str | None = Field(None, description="The next page of the plan (`?cursor=`); none after the last")
