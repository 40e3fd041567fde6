"""Contact orders [003]: the order's API models and pure rules (visibility, assignment, list order).

A contact order follows one customer contact from the first call to a sale or to closing: a
subject and a customer (both required), an optional facility, service object and contact
person, a status from the tenant's list, a notes log, time spent, bookings of the next contact,
documents, colleagues assigned. Closing archives it: it stays listed, after every open order.

A user with the permission "view only assigned" (order_settings.py) sees only the orders they own
or are assigned to. Bookings, notes, facilities and favourites have their modules beside this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema, field_validator, model_validator

from services.activities.domain.models import Attachment
from services.activities.domain.order_settings import Permission
from shared.errors import FieldError, Forbidden
from shared.types import (
    INPUT,
    OUTPUT,
    IdList,
    Name200,
    OptCode,
    OptCountry,
    OptEmail,
    OptId,
    OptPhone,
    OptPostalCode,
    OptText100,
    OptText200,
    input_config,
    reject_null,
)

MAX_ASSIGNEES = 10
MAX_TIME_ENTRIES = 200
MAX_FILES = 50
MAX_HOURS = Decimal(100_000)

# Hours in hundredths: a request's schema states the two decimals as multipleOf 0.01 (a JSON
# number; the server also reads the same value as a decimal string). Responses say only number:
# validators that divide floats (jsonschema: 0.07 / 0.01 = 7.000000000000001) would refuse
# hours the server wrote.
_HUNDREDTHS = {"type": "number", "multipleOf": 0.01, "maximum": float(MAX_HOURS)}
Hours = Annotated[
    Decimal,
    Field(ge=0, le=MAX_HOURS, max_digits=9, decimal_places=2),
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({**_HUNDREDTHS, "minimum": 0}, mode="validation"),
]
PositiveHours = Annotated[
    Decimal,
    Field(gt=0, le=MAX_HOURS, max_digits=9, decimal_places=2),
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({**_HUNDREDTHS, "exclusiveMinimum": 0}, mode="validation"),
]
Day = date  # a field named `date` would shadow the type in annotations
AssigneeList = Annotated[IdList, Field(max_length=MAX_ASSIGNEES)]


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


class NewCustomerContactIn(BaseModel):
    """A contact person: a first_name or a last_name (or both) is required."""

    model_config = input_config(
        anyOf=[
            {"properties": {"first_name": {"type": "string"}}, "required": ["first_name"]},
            {"properties": {"last_name": {"type": "string"}}, "required": ["last_name"]},
        ]
    )

    first_name: OptText100 = None
    last_name: OptText100 = None
    email: OptEmail = None
    phone: OptPhone = None

    @model_validator(mode="after")
    def _has_name(self) -> NewCustomerContactIn:
        if not (self.first_name or self.last_name):
            raise ValueError("the contact person needs a first_name or a last_name")
        return self


class NewCustomerIn(BaseModel):
    """A customer not yet in the register: the directory adds it (and its contact person)."""

    model_config = INPUT

    name: Name200
    email: OptEmail = None
    phone: OptPhone = None
    street: OptText200 = None
    postal_code: OptPostalCode = None
    city: OptText100 = None
    country: OptCountry = None
    contact: NewCustomerContactIn | None = Field(None, description="The contact person, added to the new customer")


class LocationIn(BaseModel):
    """Where the contact is, to show on a map: an address and/or coordinates (both or neither)."""

    model_config = input_config(
        anyOf=[
            {
                "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
                "required": ["latitude", "longitude"],
            },
            {"properties": {"latitude": {"type": "null"}, "longitude": {"type": "null"}}},
        ]
    )

    address: OptText200 = None
    latitude: float | None = Field(None, ge=-90, le=90, description="Degrees, kept to 7 decimals (about 1 cm)")
    longitude: float | None = Field(None, ge=-180, le=180, description="Degrees, kept to 7 decimals (about 1 cm)")

    @field_validator("latitude", "longitude")
    @classmethod
    def _to_centimetres(cls, value: float | None) -> float | None:
        # A DynamoDB number is at least 1e-130 in size: 4e-308 (a valid JSON number) is unstorable.
        return None if value is None else round(value, 7)

    @model_validator(mode="after")
    def _pairs(self) -> LocationIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


_FACILITY_ONCE = {  # facility_id or facility_name, not both
    "not": {
        "properties": {"facility_id": {"type": "string"}, "facility_name": {"type": "string"}},
        "required": ["facility_id", "facility_name"],
    }
}


class ContactOrderCreate(BaseModel):
    """A customer is required: `account_id` or `new_customer`, not both. A facility by
    `facility_id` or by `facility_name`, not both; one contact person: `contact_id` or
    `new_customer.contact`, not both."""

    model_config = input_config(
        oneOf=[
            {
                "properties": {"account_id": {"type": "string"}, "new_customer": {"type": "null"}},
                "required": ["account_id"],
            },
            {
                "properties": {"account_id": {"type": "null"}, "new_customer": {"type": "object"}},
                "required": ["new_customer"],
            },
        ],
        allOf=[
            _FACILITY_ONCE,
            {
                "not": {
                    "properties": {
                        "contact_id": {"type": "string"},
                        "new_customer": {"properties": {"contact": {"type": "object"}}, "required": ["contact"]},
                    },
                    "required": ["contact_id", "new_customer"],
                }
            },
        ],
    )

    subject: Name200 = Field(description="What the contact is about (required)")
    account_id: OptId = Field(None, description="An existing customer; or give new_customer")
    new_customer: NewCustomerIn | None = Field(None, description="A customer to add to the register")
    facility_id: OptId = Field(None, description="An existing facility")
    facility_name: OptText200 = Field(None, description="A facility by name; created if new")
    service_object: OptText200 = None
    contact_id: OptId = Field(None, description="The one contact person (a directory contact)")
    status: OptCode = Field(None, description="From the tenant's list; its first active status when left out")
    location: LocationIn | None = None
    hours_spent: Hours = Field(Decimal(0), json_schema_extra={"default": 0})
    planned_date: date | None = None
    assignee_ids: AssigneeList = Field(default_factory=list)


class ContactOrderUpdate(BaseModel):
    """PATCH: only the fields sent change; null clears an optional field. A facility by
    `facility_id` or by `facility_name`, not both."""

    model_config = input_config(**_FACILITY_ONCE)

    subject: Name200 | None = None
    account_id: OptId = None
    facility_id: OptId = None
    facility_name: OptText200 = None
    service_object: OptText200 = None
    contact_id: OptId = None
    status: OptCode = None
    location: LocationIn | None = None
    hours_spent: Hours | None = Field(None, description="Sets the total (time entries add to it)")
    planned_date: date | None = None
    assignee_ids: AssigneeList | None = Field(None, description="Needs assign, or assign_self for oneself only")

    _not_null = field_validator("subject", "account_id", "status", "hours_spent", "assignee_ids")(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class AssigneesReplace(BaseModel):
    model_config = INPUT

    assignee_ids: AssigneeList


class TimeEntryCreate(BaseModel):
    model_config = INPUT

    hours: PositiveHours = Field(
        description="Added to the order's hours_spent, whose total stays at most 100000 (else 422 total_too_large)"
    )
    date: Day | None = Field(None, description="The day worked; today when left out")
    note: OptText200 = None


class Filters(BaseModel):
    """What a list can be narrowed to; saved as a favourite too."""

    model_config = INPUT

    status: OptCode = None
    assignee_id: OptId = None
    account_id: OptId = None
    contact_id: OptId = None
    facility_id: OptId = None
    closed: bool | None = Field(None, description="true: only closed; false: only open; absent: both")
    planned_from: date | None = None
    planned_to: date | None = None


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


class Location(BaseModel):
    model_config = OUTPUT

    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class TimeEntry(BaseModel):
    model_config = OUTPUT

    id: str
    hours: Hours
    date: Day
    note: str | None = None
    user_id: str
    created_at: datetime


class ContactOrderSummary(BaseModel):
    """A contact order in a list: without its time log and attachments (`GET /contact-orders/{id}`)."""

    model_config = OUTPUT

    id: str
    number: str
    sequence_number: int = Field(description="The running number without its prefix")
    subject: str
    account_id: str
    customer_name: str | None = Field(None, description="Set when the order added a new customer")
    facility_id: str | None = None
    facility_name: str | None = None
    service_object: str | None = None
    contact_id: str | None = None
    status: str
    location: Location | None = None
    hours_spent: Hours = Decimal(0)
    planned_date: date | None = None
    owner_id: str
    assignee_ids: list[str] = Field(default_factory=list)
    notes_count: int = 0
    last_note_at: datetime | None = None
    closed: bool = False
    closed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1


class ContactOrder(ContactOrderSummary):
    customer_created: bool = Field(False, description="The order added this customer to the register")
    time_entries: list[TimeEntry] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    closed_by: str | None = None
    converted_at: datetime | None = None
    converted_by: str | None = None
    sales_order_id: str | None = Field(None, description="The sales order the conversion asks invoicing to open")
    created_by: str

    @property
    def members(self) -> set[str]:
        """Who the order is "theirs" to (view only assigned): the owner and the assignees."""
        return {self.owner_id, *self.assignee_ids}


class ConversionResult(BaseModel):
    order: ContactOrder
    sales_order_id: str


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


def can_see(permissions: set[Permission], user_id: str, order: ContactOrder) -> bool:
    if Permission.view in permissions:
        return True
    return Permission.view_assigned in permissions and user_id in order.members


def check_assignees(permissions: set[Permission], user_id: str, before: Iterable[str], after: Iterable[str]) -> None:
    """Assigning others needs `assign`; adding or removing only oneself needs `assign_self` (or `assign`)."""
    changed = set(before) ^ set(after)
    if not changed or Permission.assign in permissions:
        return
    if changed == {user_id} and Permission.assign_self in permissions:
        return
    needed = Permission.assign_self if changed == {user_id} else Permission.assign
    raise Forbidden(f"You lack the contact-order permission '{needed}' needed to change who is assigned.")


def day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day else None


def rank_prefix(closed: bool) -> str:
    """Closed orders sort after every open one, whatever the order within each."""
    return "1#" if closed else "0#"


def rank_by_planned(order: ContactOrder, stamp: str) -> str:
    """The by_rank key: open first, then by planned date (none last), then id."""
    return f"{rank_prefix(order.closed)}{stamp}#{order.id}"


def rank_by_number(order: ContactOrder) -> str:
    """The by_rank_alt key: open first, then by running number."""
    return f"{rank_prefix(order.closed)}{order.sequence_number:012d}#{order.id}"


def customer_errors(body: ContactOrderCreate) -> list[FieldError]:
    """A customer is required: an existing account or a new one, not both."""
    if body.account_id and body.new_customer:
        return [FieldError(field="new_customer", message="give account_id or new_customer, not both", code="conflict")]
    if not (body.account_id or body.new_customer):
        message = "a customer is required: account_id or new_customer"
        return [FieldError(field="account_id", message=message, code="missing")]
    if body.contact_id and body.new_customer and body.new_customer.contact:
        message = "one contact person: contact_id or new_customer.contact, not both"
        return [FieldError(field="contact_id", message=message, code="conflict")]
    return []
