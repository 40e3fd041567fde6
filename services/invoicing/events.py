"""Events the invoicing service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
"""

from pydantic import BaseModel, Field

from shared.events import catalogue

PRODUCER = "invoicing"


class InvoicingItemChanged(BaseModel):
    id: str
    name: str
    contact_id: str | None = Field(None, description="The contact the item is about, if any")


class InvoicingItemDeleted(BaseModel):
    id: str


catalogue.register(
    "invoicing_item.created",
    InvoicingItemChanged,
    producer=PRODUCER,
    description="A invoicing item was created.",
)
catalogue.register(
    "invoicing_item.deleted",
    InvoicingItemDeleted,
    producer=PRODUCER,
    description="A invoicing item was deleted.",
)
