"""VAT on invoices: per rate, on the rounded line totals.

The rule (issue 22): every line's net total is rounded to cents first (money.line_total); the lines
are grouped by VAT rate; for each rate, the VAT is (sum of that rate's rounded line totals) x rate /
100, rounded ROUND_HALF_UP to cents once; the rate's gross is net + VAT. The invoice's totals are the
sums of the breakdown's rows, so the breakdown always adds up to the totals. A credit note negates
every line's quantity; since ROUND_HALF_UP is symmetric around zero, its breakdown and totals are
exactly the negation of the credited invoice's.

Which rate applies to a line is the rate in force on its delivery date (`rate_on`); a period that
straddles a rate change is split by periods.split_at_changes first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from .money import HUNDRED, line_total, to_cents


class TaxRate(BaseModel):
    """A tax class's rate over its validity: `valid_from` inclusive, `valid_until` exclusive (None: open)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: Decimal = Field(ge=0, le=100)
    valid_from: dt.date
    valid_until: dt.date | None = None


class NoRate(LookupError):
    """No rate of the tax class is in force on the day asked for."""


def rate_on(rates: Iterable[TaxRate], day: dt.date) -> Decimal:
    """The rate in force on `day` (valid_from <= day < valid_until)."""
    for rate in rates:
        if rate.valid_from <= day and (rate.valid_until is None or day < rate.valid_until):
            return rate.rate
    raise NoRate(f"no rate in force on {day.isoformat()}")


def rates_from_history(history: Iterable[Mapping[str, Any]]) -> list[TaxRate]:
    """A tax class's rates as stored (dicts of `rate` and `valid_from`, None or absent: since ever; each
    rate holds until the next one's `valid_from`) as TaxRate validities, earliest first."""
    items = sorted(
        ((_day(item.get("valid_from")), Decimal(str(item["rate"]))) for item in history), key=lambda pair: pair[0]
    )
    return [
        TaxRate(rate=rate, valid_from=start, valid_until=items[i + 1][0] if i + 1 < len(items) else None)
        for i, (start, rate) in enumerate(items)
    ]


def _day(value: object) -> dt.date:
    if value is None:
        return dt.date.min
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def change_dates(rates: Iterable[TaxRate]) -> list[dt.date]:
    """The days on which a tax class's rate changes (each validity's first day), sorted."""
    return sorted({rate.valid_from for rate in rates})


class Line(BaseModel):
    """An invoice line as the arithmetic needs it; `net` is its rounded total (money.line_total).

    `net` and `vat` are computed: a dumped line (which carries them) validates back, they are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    description: str
    quantity: Decimal
    unit: str = ""
    unit_price: Decimal
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    vat_rate: Decimal = Field(ge=0, le=100)
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    # the share of the period's price billed, (numerator, denominator) of periods.proration or
    # periods.split_prorated (None: the whole price)
    proration: tuple[int, int] | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net(self) -> Decimal:
        from fractions import Fraction

        share = Fraction(*self.proration) if self.proration else None
        return line_total(self.quantity, self.unit_price, self.discount_percent, share)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def vat(self) -> Decimal:
        """The line's VAT for display only: the invoice's VAT is the breakdown's (per rate, not per line)."""
        return to_cents(self.net * self.vat_rate / HUNDRED)


class VatRow(BaseModel):
    """One row of the VAT breakdown: a rate and its net, VAT and gross."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    net: Decimal
    vat: Decimal
    gross: Decimal


def vat_breakdown(lines: Iterable[Line]) -> list[VatRow]:
    """The breakdown per rate, highest rate first: VAT per rate on the sum of its rounded line totals."""
    nets: dict[Decimal, Decimal] = {}
    for line in lines:
        key = line.vat_rate.normalize()
        nets[key] = nets.get(key, Decimal("0.00")) + line.net
    rows = []
    for rate in sorted(nets, reverse=True):
        net = to_cents(nets[rate])
        vat = to_cents(net * rate / HUNDRED)
        rows.append(VatRow(rate=rate, net=net, vat=vat, gross=net + vat))
    return rows


def totals(breakdown: Sequence[VatRow]) -> Totals:
    """The invoice's totals: the sums of the breakdown's rows."""
    net = sum((row.net for row in breakdown), Decimal("0.00"))
    vat = sum((row.vat for row in breakdown), Decimal("0.00"))
    return Totals(net=net, vat=vat, gross=net + vat)


def credit_lines(lines: Iterable[Line]) -> list[Line]:
    """A credit note's lines: the credited lines with their quantities negated."""
    return [line.model_copy(update={"quantity": -line.quantity}) for line in lines]
