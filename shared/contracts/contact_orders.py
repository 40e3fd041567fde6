"""The new-customer contract between a contact order (activities) and the directory.

Seed 003: typing a customer name that is not in the register adds the customer, with the
contact details given. The activities service cannot write the directory's table, so it gives
the new account (and its contact person) ids derived from the order id, stores them on the order
at once, and puts this block in `contact_order.created`; the directory creates the account and
the contact with exactly these ids, once, however often the event arrives.
"""

from datetime import date

from pydantic import BaseModel, Field

from shared.ids import derived_id


class NewCustomerContact(BaseModel):
    contact_id: str = Field(description="The id the directory gives the new contact")
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class NewCustomer(BaseModel):
    account_id: str = Field(description="The id the directory gives the new account")
    owner_id: str = Field(description="The user who owns the new records (the order's creator)")
    name: str
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    contact: NewCustomerContact | None = Field(None, description="The contact person to add to the account")


class ContactOrderConverted(BaseModel):
    """`contact_order.converted`: what invoicing needs to open a sales order from a contact order.

    The activities service publishes it (and registers it in the catalogue); invoicing opens a
    draft sales order with exactly `sales_order_id`, once, however often the event arrives.
    """

    id: str
    number: str
    subject: str
    sales_order_id: str = Field(description="The id to give the sales order (stable: a redelivery opens no second one)")
    account_id: str
    contact_id: str | None = None
    owner_id: str | None = Field(None, description="The contact order's owner")
    facility: str | None = None
    service_object: str | None = None
    location: str | None = None
    planned_date: date | None = None
    hours_spent: float = 0
    notes: list[str] = Field(default_factory=list, description="The notes log, oldest first (at most 64 KB)")
    notes_truncated: bool = Field(False, description="Older notes were left out to keep the event small")
    converted_by: str


def new_customer_ids(order_id: str) -> tuple[str, str]:
    """The account id and contact id a new customer of this order gets (stable across retries)."""
    return derived_id(order_id, "account"), derived_id(order_id, "contact")
