"""Events the webhooks service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
"""

from pydantic import BaseModel, Field

from shared.events import catalogue

PRODUCER = "webhooks"


class WebhooksItemChanged(BaseModel):
    id: str
    name: str
    contact_id: str | None = Field(None, description="The contact the item is about, if any")


class WebhooksItemDeleted(BaseModel):
    id: str


catalogue.register(
    "webhooks_item.created",
    WebhooksItemChanged,
    producer=PRODUCER,
    description="A webhooks item was created.",
)
catalogue.register(
    "webhooks_item.deleted",
    WebhooksItemDeleted,
    producer=PRODUCER,
    description="A webhooks item was deleted.",
)
