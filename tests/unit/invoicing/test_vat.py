"""Invoice arithmetic (issue 22, item 6): line totals rounded ROUND_HALF_UP to cents, VAT per rate on
the rounded line totals, the breakdown adding up to the totals, credit notes negating exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.invoicing.domain.money import fi_amount, fi_number, line_total, to_cents
from services.invoicing.domain.vat import (
    Line,
    NoRate,
    TaxRate,
    change_dates,
    credit_lines,
    rate_on,
    rates_from_history,
    totals,
    vat_breakdown,
)

pytestmark = pytest.mark.disable_socket

# Finnish VAT as in force on 2026-12-04 (issue 22): the standard and the middle rate's histories
# (the catalogue's TaxRate: each rate holds until the next one's valid_from).
STANDARD = [
    TaxRate(rate=D("24"), valid_from=dt.date(2013, 1, 1)),
    TaxRate(rate=D("25.5"), valid_from=dt.date(2024, 9, 1)),
]
MIDDLE = [
    TaxRate(rate=D("14"), valid_from=dt.date(2013, 1, 1)),
    TaxRate(rate=D("13.5"), valid_from=dt.date(2026, 1, 1)),
]


def test_half_a_cent_rounds_up_and_a_negative_half_cent_down() -> None:
    assert to_cents(D("0.005")) == D("0.01")
    assert to_cents(D("-0.005")) == D("-0.01")
    assert to_cents(D("2.344999")) == D("2.34")
    # 3 x 10.005 = 30.015: banker's rounding would give 30.02 too, 3 x 10.015 = 30.045 tells them apart
    assert line_total(D(3), D("10.015")) == D("30.05")


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        line_total(3, D("1.00"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_cents(0.1)  # type: ignore[arg-type]


def test_a_line_is_rounded_once_after_discount_and_proration() -> None:
    # 7 x 12.99 = 90.93, less 12.5 % = 79.56375 -> 79.56
    assert line_total(D(7), D("12.99"), D("12.5")) == D("79.56")
    # 10 of 31 days of 100.00 = 32.258064... -> 32.26 (rounding the share first to 0.32 would give 32.00)
    assert line_total(D(1), D("100.00"), proration=Fraction(10, 31)) == D("32.26")


def test_vat_is_per_rate_on_the_rounded_line_totals_not_per_line() -> None:
    # Three lines of 0.05 at 25.5 %: per line VAT 0.01275 -> 0.01 each (0.03); per rate on 0.15 -> 0.04.
    lines = [Line(description=f"l{n}", quantity=D(1), unit_price=D("0.05"), vat_rate=D("25.5")) for n in range(3)]
    (row,) = vat_breakdown(lines)
    assert (row.rate, row.net, row.vat, row.gross) == (D("25.5"), D("0.15"), D("0.04"), D("0.19"))
    assert sum(line.vat for line in lines) == D("0.03")


def test_the_breakdown_has_a_row_per_rate_highest_first_and_adds_up_to_the_totals() -> None:
    lines = [
        Line(description="Tuki", quantity=D(3), unit="h", unit_price=D("85.00"), vat_rate=D("25.5")),
        Line(description="Lounas", quantity=D(2), unit="kpl", unit_price=D("12.40"), vat_rate=D("13.5")),
        Line(description="Lehti", quantity=D(1), unit_price=D("19.90"), discount_percent=D(10), vat_rate=D(10)),
        Line(description="Vienti", quantity=D(1), unit_price=D("100"), vat_rate=D(0)),
        Line(description="Lisätunti", quantity=D("0.5"), unit="h", unit_price=D("85.00"), vat_rate=D("25.50")),
    ]
    breakdown = vat_breakdown(lines)
    assert [(r.rate, r.net, r.vat, r.gross) for r in breakdown] == [
        (D("25.5"), D("297.50"), D("75.86"), D("373.36")),  # 297.50 x 0.255 = 75.8625
        (D("13.5"), D("24.80"), D("3.35"), D("28.15")),  # 3.348
        (D("10"), D("17.91"), D("1.79"), D("19.70")),  # 19.90 less 10 % = 17.91; 1.791
        (D("0"), D("100.00"), D("0.00"), D("100.00")),
    ]
    total = totals(breakdown)
    assert (total.net, total.vat, total.gross) == (D("440.21"), D("81.00"), D("521.21"))


amounts = st.decimals(min_value=D("-1000"), max_value=D("100000"), places=3, allow_nan=False, allow_infinity=False)
rates = st.sampled_from([D("25.5"), D("24"), D("14"), D("13.5"), D("10"), D("0")])
lines_st = st.lists(
    st.builds(
        Line,
        description=st.just("x"),
        quantity=st.decimals(min_value=D("0.001"), max_value=D(1000), places=3),
        unit_price=amounts,
        discount_percent=st.decimals(min_value=D(0), max_value=D(100), places=1),
        vat_rate=rates,
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(lines_st)
def test_a_credit_note_is_exactly_the_negation_and_the_breakdown_adds_up(lines: list[Line]) -> None:
    breakdown, credit = vat_breakdown(lines), vat_breakdown(credit_lines(lines))
    assert [(r.rate, -r.net, -r.vat, -r.gross) for r in breakdown] == [(r.rate, r.net, r.vat, r.gross) for r in credit]
    total = totals(breakdown)
    assert total.net == sum(line.net for line in lines)
    assert total.gross == total.net + total.vat
    for row in breakdown:
        assert row.net == row.net.quantize(D("0.01")) and row.vat == row.vat.quantize(D("0.01"))


def test_a_line_crosses_a_boundary_as_json_and_back() -> None:
    line = Line(description="Tuki", quantity=D(3), unit_price=D("85.005"), vat_rate=D("25.5"), proration=(10, 31))
    again = Line.model_validate_json(line.model_dump_json())
    assert again == line and again.net == D("82.26")


def test_the_rate_in_force_on_a_day_follows_the_history() -> None:
    assert rate_on(STANDARD, dt.date(2024, 8, 31)) == D("24")
    assert rate_on(STANDARD, dt.date(2024, 9, 1)) == D("25.5")
    assert rate_on(MIDDLE, dt.date(2025, 12, 31)) == D("14")
    assert rate_on(MIDDLE, dt.date(2026, 1, 1)) == D("13.5")
    assert change_dates(STANDARD) == [dt.date(2013, 1, 1), dt.date(2024, 9, 1)]
    with pytest.raises(NoRate):
        rate_on(STANDARD, dt.date(2012, 12, 31))


def test_rates_as_the_catalogue_stores_them_hold_until_the_next_one() -> None:
    stored = [{"rate": "25.5", "valid_from": "2024-09-01"}, {"rate": "24", "valid_from": None}]
    rates = rates_from_history(stored)
    assert rate_on(rates, dt.date(1999, 1, 1)) == D("24")  # no valid_from: since ever
    assert rate_on(rates, dt.date(2024, 8, 31)) == D("24")
    assert rate_on(rates, dt.date(2024, 9, 1)) == D("25.5")
    assert change_dates(rates) == [dt.date(2024, 9, 1)]  # "since ever" is no change


def test_finnish_display_of_amounts_and_numbers() -> None:
    assert fi_amount(D("1234567.5")) == "1 234 567,50"
    assert fi_amount(D("-0.5"), grouped=False) == "-0,50"
    assert fi_number(D("25.50")) == "25,5"
    assert fi_number(D("2.000")) == "2"
