"""Events the invoicing service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
"""

from datetime import date

from pydantic import BaseModel, Field

from shared.events import catalogue

PRODUCER = "invoicing"


class SalesOrderChanged(BaseModel):
    id: str
    number: str
    account_id: str
    status: str = Field(description="draft, active, ended or cancelled")
    currency: str
    interval: str
    start_date: date
    end_date: date | None = None
    contact_order_id: str | None = Field(None, description="The contact order it was converted from")
    changed: list[str] = Field(default_factory=list, description="The fields that changed (an update)")


class InvoiceChanged(BaseModel):
    id: str
    kind: str = Field(description="invoice or credit_note")
    status: str = Field(description="draft, issued, paid or credited")
    number: str | None = Field(None, description="None while a draft")
    account_id: str
    currency: str
    total: str = Field(description="The gross total, a decimal string")
    issue_date: date | None = None
    due_date: date | None = None
    reference: str | None = Field(None, description="The national reference (once issued)")
    credited_invoice_id: str | None = Field(None, description="A credit note: the invoice it credits")
    run_id: str | None = Field(None, description="The billing run that made it")


_SPECS: list[tuple[str, str]] = [
    ("sales_order.created", "A sales order was created (through the API or from a converted contact order)."),
    ("sales_order.updated", "A sales order was changed (fields, lines)."),
    ("sales_order.activated", "A sales order became active: its periods are billed from now on."),
    ("sales_order.ended", "A sales order ended: its periods after the end date are not billed."),
    ("sales_order.cancelled", "A sales order was cancelled."),
]

for _type, _description in _SPECS:
    catalogue.register(_type, SalesOrderChanged, producer=PRODUCER, description=_description)

_INVOICE_SPECS: list[tuple[str, str]] = [
    ("invoice.created", "An invoice was made (by a billing run: a draft, or issued at once per the tenant's setting)."),
    ("invoice.issued", "An invoice (or a credit note) was issued: it has its number, reference and due date."),
    ("invoice.credited", "An invoice was credited: its credit note is `invoice.created`/`invoice.issued` too."),
    ("invoice.paid", "An invoice was marked paid."),
]

for _type, _description in _INVOICE_SPECS:
    catalogue.register(_type, InvoiceChanged, producer=PRODUCER, description=_description)
