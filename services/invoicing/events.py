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


_SPECS: list[tuple[str, str]] = [
    ("sales_order.created", "A sales order was created (through the API or from a converted contact order)."),
    ("sales_order.updated", "A sales order was changed (fields, lines)."),
    ("sales_order.activated", "A sales order became active: its periods are billed from now on."),
    ("sales_order.ended", "A sales order ended: its periods after the end date are not billed."),
    ("sales_order.cancelled", "A sales order was cancelled."),
]

for _type, _description in _SPECS:
    catalogue.register(_type, SalesOrderChanged, producer=PRODUCER, description=_description)
