"""Events the activities service publishes, registered once in the catalogue.

The payload of every activity and contact order event is the record as the API shows it, so a
consumer (webhooks, the directory) needs no read back.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

import shared.contracts.audience  # noqa: F401  (registers audience.requested / audience.page)
from shared.contracts.contact_orders import ContactOrderConverted, NewCustomer
from shared.events import catalogue

PRODUCER = "activities"


class ActivityChanged(BaseModel):
    id: str
    activity: dict[str, Any] = Field(description="The activity as GET /activities/{id} shows it")


class ActivityDeleted(BaseModel):
    id: str
    activity: dict[str, Any] = Field(description="The activity as it was before deletion")


class ContactOrderChanged(BaseModel):
    id: str
    order: dict[str, Any] = Field(description="The contact order as GET /contact-orders/{id} shows it")


class ContactOrderCreated(ContactOrderChanged):
    new_customer: NewCustomer | None = Field(
        None, description="A customer the order added: the directory creates it with these ids"
    )


class ContactOrderAssigned(BaseModel):
    id: str
    number: str
    subject: str
    assignee_ids: list[str] = Field(description="The colleagues newly assigned, to be notified")
    assigned_by: str


class ReminderDue(BaseModel):
    id: str = Field(description="The reminder's id (one per due item and due time)")
    user_id: str = Field(description="Who is reminded")
    source: str = Field(description="booking, task or event")
    source_id: str
    subject: str
    due_at: datetime
    contact_order_id: str | None = None
    account_id: str | None = None
    contact_id: str | None = None


_SPECS: list[tuple[str, type[BaseModel], str]] = [
    ("activity.created", ActivityChanged, "An event or task was created."),
    ("activity.updated", ActivityChanged, "An event or task was changed (also reopened)."),
    ("activity.completed", ActivityChanged, "An event or task was marked done."),
    ("activity.deleted", ActivityDeleted, "An event or task was deleted."),
    ("contact_order.created", ContactOrderCreated, "A contact order was created."),
    ("contact_order.updated", ContactOrderChanged, "A contact order was changed (fields, notes, bookings)."),
    ("contact_order.assigned", ContactOrderAssigned, "Colleagues were assigned to a contact order: notify them."),
    ("contact_order.closed", ContactOrderChanged, "A contact order was closed (archived)."),
    ("contact_order.converted", ContactOrderConverted, "A contact order was converted to a sales order."),
    ("contact_order.deleted", ContactOrderChanged, "A contact order was deleted."),
    ("reminder.due", ReminderDue, "A booking or task fell due: remind its user."),
]

for _type, _payload, _description in _SPECS:
    catalogue.register(_type, _payload, producer=PRODUCER, description=_description)
