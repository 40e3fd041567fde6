"""Sales orders: lines, recurrence and status rules (pure; seed 002 "Myyntitilausten toistuva laskutus").

An order bills its customer recurrently in arrears: every `interval` from `start_date` (until
`end_date`, when it has one), the invoice for a period made when the period has ended (the run,
issue 22 item 3, reads `interval`, `start_date`, `end_date` and `billing`). Statuses: draft ->
active -> ended, and draft or active -> cancelled (`TRANSITIONS`). Once active, an order's
`currency` is fixed: invoices already made are in it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services.invoicing.domain.catalogue import (
    DEFAULT_CURRENCY,
    TAX_CLASS_RULE,
    Amount,
    Currency,
    Percent,
    Price,
    Quantity,
)
from shared.errors import ValidationFailed
from shared.types import NOT_BLANK, OUTPUT, Code, Id, OptId, Owner, input_config, reject_null

MAX_LINES = 100


class Status(StrEnum):
    draft = "draft"
    active = "active"
    ended = "ended"
    cancelled = "cancelled"


class Interval(StrEnum):
    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"


# What each status may become (a command to any other is a 409 `invalid_transition`).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.draft: frozenset({Status.active, Status.cancelled}),
    Status.active: frozenset({Status.ended, Status.cancelled}),
    Status.ended: frozenset(),
    Status.cancelled: frozenset(),
}


def may_become(current: Status | str, target: Status) -> bool:
    return target in TRANSITIONS[Status(current)]


Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]

# JSON Schema of the line's rules across fields (the validators below enforce them):
# a negative quantity only with `credit: true`; a line names a product, or says what it sells itself.
_LINE_RULES = [
    {
        "anyOf": [
            {"required": ["credit"], "properties": {"credit": {"const": True}}},
            {"properties": {"quantity": {"type": "string", "pattern": r"^[0-9]"}}},
        ]
    },
    {
        "anyOf": [
            {"required": ["product_id"], "properties": {"product_id": {"type": "string"}}},
            {
                "required": ["description", "unit_price", "tax_class"],
                "properties": {
                    "description": {"type": "string", "pattern": NOT_BLANK.pattern},
                    "unit_price": {"type": "string"},
                    "tax_class": {"type": "string"},
                },
            },
        ]
    },
]
LINE_RULES = (
    "A line names a `product_id` (its name, price, the customer's price list and its tax class fill "
    "what the line leaves out), or gives `description`, `unit_price` and `tax_class` itself "
    "(422 `required`). A negative `quantity` needs `credit: true` (422 `credit_required`)."
)


class OrderLineIn(BaseModel):
    model_config = input_config(allOf=_LINE_RULES)

    product_id: OptId = Field(None, description="A product of the tenant (422 `not_found`)")
    description: Description = Field("", description="The line's text on the invoice (default: the product's name)")
    credit: bool = Field(False, description="A credit line: its quantity may be negative")
    quantity: Quantity
    unit_price: Price | None = Field(None, description="Default: the customer's price list, else the product's price")
    discount_percent: Percent = Field(Decimal(0), json_schema_extra={"default": "0"})
    tax_class: Code | None = Field(None, description=f"Default: the product's. {TAX_CLASS_RULE}")

    @field_validator("quantity")
    @classmethod
    def _credit(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if value < 0 and not info.data.get("credit"):
            raise PydanticCustomError("credit_required", "a negative quantity needs credit: true on the line")
        return value

    @model_validator(mode="after")
    def _manual(self) -> OrderLineIn:
        if not self.product_id and (self.unit_price is None or self.tax_class is None or not self.description):
            raise PydanticCustomError("required", "a line without product_id needs description, unit_price, tax_class")
        return self


class OrderLine(BaseModel):
    model_config = OUTPUT

    line_no: int
    product_id: str | None = None
    description: str
    credit: bool = False
    quantity: Amount
    unit: str = "pcs"
    unit_price: Amount
    discount_percent: Amount
    tax_class: str
    net_amount: Amount = Field(description="quantity x unit price less the discount, rounded to cents")


Lines = Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]
DATES_RULE = "`end_date` may not be before `start_date` (422 `before_start`)."


class SalesOrderCreate(BaseModel):
    model_config = input_config()

    account_id: Id = Field(description="The customer: an account of the directory (422 `not_found`)")
    currency: Currency = DEFAULT_CURRENCY
    interval: Interval = Interval.monthly
    start_date: date = Field(description="The first period starts here; periods are anchored to its day of month")
    end_date: date | None = Field(None, description=DATES_RULE)
    billing: Literal["arrears"] = Field("arrears", description="The invoice for a period is made when it has ended")
    lines: Lines = Field(description=LINE_RULES)
    notes: Notes = ""
    owner: Owner | None = Field(None, description="Default: the creator")

    @field_validator("end_date")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if value is not None and start is not None and value < start:
            raise PydanticCustomError("before_start", "end_date is before start_date")
        return value


class SalesOrderUpdate(BaseModel):
    """A merge patch; `lines` replaces every line. An active order's `currency` is fixed."""

    model_config = input_config()

    account_id: Id | None = Field(None, description="Only while the order is a draft (422 `fixed`)")
    currency: Currency | None = Field(None, description="Only while the order is a draft (422 `currency_fixed`)")
    interval: Interval | None = None
    start_date: date | None = None
    end_date: date | None = Field(None, description=f"null: no end. {DATES_RULE}")
    lines: Lines | None = Field(None, description=LINE_RULES)
    notes: Notes | None = None
    owner: Owner | None = None

    @field_validator("end_date")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if value is not None and start is not None and value < start:
            raise PydanticCustomError("before_start", "end_date is before start_date")
        return value

    _not_null = field_validator("account_id", "currency", "interval", "start_date", "lines", "notes", "owner")(
        reject_null
    )


class SalesOrder(BaseModel):
    model_config = OUTPUT

    id: str
    number: str
    account_id: str
    customer_name: str | None = Field(None, description="The account's name when the order was last written")
    status: Status
    currency: str
    interval: Interval
    start_date: date
    end_date: date | None = None
    billing: Literal["arrears"] = "arrears"
    lines: list[OrderLine]
    notes: str = ""
    owner: Owner
    contact_order_id: str | None = Field(None, description="The contact order it was converted from")
    created_by: str
    created_at: datetime
    updated_at: datetime
    activated_at: datetime | None = None
    ended_at: datetime | None = None
    cancelled_at: datetime | None = None
    version: int = 1


class SalesOrderSummary(BaseModel):
    model_config = OUTPUT

    id: str
    number: str
    account_id: str
    customer_name: str | None = None
    status: Status
    currency: str
    interval: Interval
    start_date: date
    end_date: date | None = None
    owner: Owner
    updated_at: datetime
    version: int = 1


class EndOrder(BaseModel):
    model_config = input_config()

    end_date: date | None = Field(None, description=f"Default: the order's own, else today. {DATES_RULE}")


def check_dates(start: date, end: date | None) -> None:
    """The rule across an order's stored and sent dates (a patch sends one of them)."""
    if end is not None and end < start:
        raise ValidationFailed.on("end_date", "end_date is before start_date.", "before_start")
