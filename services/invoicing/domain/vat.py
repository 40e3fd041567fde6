"""VAT on invoices: per rate, on the rounded line totals.

The rule (issue 22): every line's net total is rounded to cents first (money.line_total); the lines
are grouped by VAT rate; for each rate, the VAT is (sum of that rate's rounded line totals) x rate /
100, rounded ROUND_HALF_UP to cents once; the rate's gross is net + VAT. The invoice's totals are the
sums of the breakdown's rows, so the breakdown always adds up to the totals. A credit note negates
every line's quantity; since ROUND_HALF_UP is symmetric around zero, its breakdown and totals are
exactly the negation of the credited invoice's.

Which rate applies to a line is the rate in force on its delivery date (`rate_on`); a period that
straddles a rate change is split by periods.split_at_changes first. A rate is the catalogue's
`TaxRate` (the one type: a rate and the day it holds from, until the next one's), read here from a
tax class as stored (`rates_from_history`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from .catalogue import TaxRate, rate_in_force
from .money import HUNDRED, line_total, to_cents


class NoRate(LookupError):
    """No rate of the tax class is in force on the day asked for."""


def rate_on(rates: Sequence[TaxRate], day: dt.date) -> Decimal:
    """The rate in force on `day` (catalogue.rate_in_force: the last rate that started on or before it)."""
    rate = rate_in_force(list(rates), day)
    if rate is None:
        raise NoRate(f"no rate in force on {day.isoformat()}")
    return rate


def rates_from_history(history: Iterable[TaxRate | Mapping[str, Any]]) -> list[TaxRate]:
    """A tax class's rates as stored (dicts of `rate` and `valid_from`; None or absent: since ever)
    as TaxRates, earliest first: the order rate_on and change_dates read them in."""
    rates = [item if isinstance(item, TaxRate) else TaxRate.model_validate(item) for item in history]
    return sorted(rates, key=lambda rate: rate.valid_from or dt.date.min)


def change_dates(rates: Iterable[TaxRate]) -> list[dt.date]:
    """The days on which a tax class's rate changes (each dated rate's first day), sorted."""
    return sorted({rate.valid_from for rate in rates if rate.valid_from is not None})


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
