"""From a sales order's lines and a billing period to invoice lines (issue 22, items 1-3 and the
bad-input paragraph): the pure step of a billing run, for one (sales order, period).

Each order line becomes one invoice line per part of the period: the period is split at the dates
on which its tax class's rate changes (periods.split_prorated), each part billed at the rate in
force on its first day (vat.rate_on; every day of a part has the same rate), with its share of the
period's price (days over the whole period's days when a partial period is prorated, the whole
price when billed whole). The line's net is then rounded once (money.line_total).

Also the small rules around an invoice: the due date from payment terms, and the national reference
made from an invoice's sequence number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .document import DocumentLine
from .periods import PartialMode, Period, split_prorated
from .references import national_reference
from .vat import NoRate, TaxRate, change_dates, rate_on


class OrderLine(BaseModel):
    """A sales order's line: a negative quantity only with `credit` (a recurring credit, e.g. a discount line)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_code: str | None = None
    description: str = Field(min_length=1)
    quantity: Decimal
    unit: str = ""
    unit_price: Decimal
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    tax_class: str
    credit: bool = False

    @model_validator(mode="after")
    def _sign(self) -> OrderLine:
        if self.quantity < 0 and not self.credit:
            raise ValueError("quantity: negative without the credit flag")
        return self


class BillingError(ValueError):
    """An order that cannot be billed: `field` names what is wrong (lines[2].tax_class, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def lines_for_period(
    order_lines: Sequence[OrderLine],
    period: Period,
    tax_rates: Mapping[str, Sequence[TaxRate]],
    mode: PartialMode,
    *,
    order_reference: str | None = None,
) -> list[DocumentLine]:
    """The invoice lines of one sales order for one billing period (several per order line when a rate
    changes inside the period), in the order's line order."""
    out: list[DocumentLine] = []
    for index, line in enumerate(order_lines):
        rates = tax_rates.get(line.tax_class)
        if rates is None:
            raise BillingError(f"lines[{index}].tax_class", f"unknown tax class {line.tax_class!r}")
        for part, share in split_prorated(period, change_dates(rates), mode):
            try:
                rate = rate_on(rates, part.start)
            except NoRate as error:
                raise BillingError(f"lines[{index}].tax_class", str(error)) from None
            out.append(
                DocumentLine(
                    description=line.description,
                    product_code=line.product_code,
                    quantity=line.quantity,
                    unit=line.unit,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    vat_rate=rate,
                    period_start=part.start,
                    period_end=part.end,
                    proration=None if share == 1 else (share.numerator, share.denominator),
                    order_reference=order_reference,
                )
            )
    return out


def due_date(issue_date: dt.date, terms_days: int) -> dt.date:
    """The due date: the issue date plus the payment terms' days (14 pv netto: 14 days)."""
    if terms_days < 0:
        raise BillingError("payment_terms", "days cannot be negative")
    return issue_date + dt.timedelta(days=terms_days)


def reference_for(sequence: int) -> str:
    """The national reference of the invoice with this sequence number (1, 2, ...): base 1000 + sequence
    (at least four digits, so even invoice 1 has a valid one) and its 7-3-1 check digit."""
    if sequence < 1:
        raise BillingError("sequence", "invoice sequence numbers start at 1")
    return national_reference(1000 + sequence)
