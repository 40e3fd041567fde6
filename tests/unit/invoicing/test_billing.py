"""A sales order's lines billed for a period (issue 22, items 1-3 and bad input): split at a VAT change,
each part at the rate in force on its days, partial periods prorated or billed whole, unknown tax
classes and negative quantities refused naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from services.invoicing.domain.billing import BillingError, OrderLine, due_date, lines_for_period, reference_for
from services.invoicing.domain.periods import Schedule, ended_periods, periods
from services.invoicing.domain.references import validate_national
from services.invoicing.domain.vat import TaxRate, totals, vat_breakdown

pytestmark = pytest.mark.disable_socket

RATES = {
    "standard": [
        TaxRate(rate=D("24"), valid_from=dt.date(2013, 1, 1)),
        TaxRate(rate=D("25.5"), valid_from=dt.date(2024, 9, 1)),
    ],
    "middle": [
        TaxRate(rate=D("14"), valid_from=dt.date(2013, 1, 1)),
        TaxRate(rate=D("13.5"), valid_from=dt.date(2026, 1, 1)),
    ],
    "zero": [TaxRate(rate=D(0), valid_from=dt.date(2013, 1, 1))],
}
SUPPORT = OrderLine(
    product_code="TUKI", description="Tuki", quantity=D(1), unit="kk", unit_price=D("300.00"), tax_class="standard"
)
LUNCH = OrderLine(description="Lounas", quantity=D(20), unit="kpl", unit_price=D("11.50"), tax_class="middle")


def test_a_quarter_straddling_the_standard_rate_change_is_billed_in_two_parts() -> None:
    (q3,) = ended_periods(Schedule(frequency="quarterly", start=dt.date(2024, 7, 1)), dt.date(2024, 10, 1))
    lines = lines_for_period([SUPPORT], q3, RATES, "prorate", order_reference="SO-7")
    assert [(line.period_start, line.period_end, line.vat_rate, line.proration, line.net) for line in lines] == [
        (dt.date(2024, 7, 1), dt.date(2024, 8, 31), D("24"), (31, 46), D("202.17")),  # 62/92 of 300,00
        (dt.date(2024, 9, 1), dt.date(2024, 9, 30), D("25.5"), (15, 46), D("97.83")),  # 30/92
    ]
    assert all(line.order_reference == "SO-7" for line in lines)
    breakdown = vat_breakdown(lines)
    assert [(r.rate, r.net, r.vat) for r in breakdown] == [
        (D("25.5"), D("97.83"), D("24.95")),
        (D("24"), D("202.17"), D("48.52")),
    ]
    assert totals(breakdown).net == D("300.00")


def test_the_middle_rate_change_on_new_year_and_a_line_without_change() -> None:
    (december,) = ended_periods(
        Schedule(frequency="monthly", start=dt.date(2025, 12, 15)), dt.date(2026, 1, 16)
    )  # 15.12.-14.1.
    lines = lines_for_period([LUNCH, SUPPORT], december, RATES, "prorate")
    assert [(line.description, line.vat_rate, line.period_start) for line in lines] == [
        ("Lounas", D("14"), dt.date(2025, 12, 15)),
        ("Lounas", D("13.5"), dt.date(2026, 1, 1)),
        ("Tuki", D("25.5"), dt.date(2025, 12, 15)),
    ]
    assert lines[2].proration is None and lines[2].net == D("300.00")


def test_a_last_partial_period_prorated_or_billed_whole() -> None:
    schedule = Schedule(frequency="monthly", start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 10))
    last = list(periods(schedule))[-1]
    (prorated,) = lines_for_period([SUPPORT], last, RATES, "prorate")
    (whole,) = lines_for_period([SUPPORT], last, RATES, "bill_whole")
    assert (prorated.proration, prorated.net) == ((5, 14), D("107.14"))  # 10 of February's 28 days
    assert (whole.proration, whole.net) == (None, D("300.00"))


def test_bad_input_names_the_field() -> None:
    period = next(periods(Schedule(frequency="monthly", start=dt.date(2026, 1, 1))))
    unknown = SUPPORT.model_copy(update={"tax_class": "luxury"})
    with pytest.raises(BillingError) as caught:
        lines_for_period([SUPPORT, unknown], period, RATES, "prorate")
    assert caught.value.field == "lines[1].tax_class"
    with pytest.raises(ValidationError, match="quantity: negative without the credit flag"):
        OrderLine(description="x", quantity=D(-1), unit_price=D(1), tax_class="standard")
    refund = OrderLine(description="Hyvitys", quantity=D(-1), unit_price=D(10), tax_class="zero", credit=True)
    assert lines_for_period([refund], period, RATES, "prorate")[0].net == D("-10.00")
    old = next(periods(Schedule(frequency="monthly", start=dt.date(2012, 1, 1))))
    with pytest.raises(BillingError, match="no rate in force"):
        lines_for_period([SUPPORT], old, RATES, "prorate")


def test_due_date_and_reference() -> None:
    assert due_date(dt.date(2026, 12, 20), 14) == dt.date(2027, 1, 3)
    assert reference_for(1) == "10016"  # base 1001: 1x7 + 0x3 + 0x1 + 1x7 = 14 -> 6
    assert validate_national(reference_for(42)) == reference_for(42)
    assert len({reference_for(n) for n in range(1, 2000)}) == 1999
