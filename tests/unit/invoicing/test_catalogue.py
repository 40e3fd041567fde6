"""The catalogue's pure rules: the rate in force on a date, the same rates as a run reads them, the
Finnish VAT a new tenant gets, and the order line's rules (issue 22 items 1-2)."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.invoicing.domain.catalogue import (
    ProductCreate,
    TaxClassCreate,
    default_tax_classes,
    rate_in_force,
)
from services.invoicing.domain.money import line_total
from services.invoicing.domain.orders import OrderLineIn, Status, may_become
from services.invoicing.domain.vat import change_dates, rate_on, rates_from_history

CLASSES = {c["code"]: c["rates"] for c in default_tax_classes()}


@pytest.mark.parametrize(
    ("code", "day", "rate"),
    [
        ("standard", date(2013, 1, 1), "24"),
        ("standard", date(2024, 8, 31), "24"),
        ("standard", date(2024, 9, 1), "25.5"),
        ("standard", date(2026, 12, 4), "25.5"),
        ("middle", date(2025, 12, 31), "14"),
        ("middle", date(2026, 1, 1), "13.5"),
        ("middle_2025", date(2024, 12, 31), "10"),  # books, medicines, transport, accommodation, admissions
        ("middle_2025", date(2025, 1, 1), "14"),
        ("middle_2025", date(2026, 1, 1), "13.5"),
        ("reduced", date(2026, 12, 4), "10"),
        ("zero", date(2026, 12, 4), "0"),
    ],
)
def test_the_rate_in_force_on_a_date(code: str, day: date, rate: str) -> None:
    assert rate_in_force(CLASSES[code], day) == Decimal(rate)


def test_no_rate_before_the_first_dated_one_and_a_run_reads_the_same_rates() -> None:
    dated = [{"rate": "10", "valid_from": "2030-01-01"}, {"rate": "12", "valid_from": "2031-01-01"}]
    assert rate_in_force(dated, date(2029, 12, 31)) is None
    # A run bills by the same TaxRate, read from the stored class: the same rate every day, split where it changes.
    standard, books = rates_from_history(CLASSES["standard"]), rates_from_history(CLASSES["middle_2025"])
    assert change_dates(standard) == [date(2024, 9, 1)]
    assert change_dates(books) == [date(2025, 1, 1), date(2026, 1, 1)]
    for day in (date(2024, 8, 31), date(2024, 9, 1), date(2025, 1, 1), date(2026, 1, 1)):
        assert rate_on(standard, day) == rate_in_force(CLASSES["standard"], day)
        assert rate_on(books, day) == rate_in_force(CLASSES["middle_2025"], day)


def test_rates_are_dated_in_order_and_amounts_are_decimal_strings() -> None:
    rates = [{"rate": "10", "valid_from": "2030-01-01"}, {"rate": "9"}]
    for bad in (rates, [{"rate": "1", "valid_from": "2030-01-01"}, {"rate": "2", "valid_from": "2030-01-01"}]):
        with pytest.raises(ValidationError):
            TaxClassCreate.model_validate({"code": "x", "name": "X", "rates": bad})
    product = {"code": "p", "name": "P", "unit_price": "12.50"}
    assert ProductCreate.model_validate(product).unit_price == Decimal("12.50")
    assert ProductCreate.model_validate(product).model_dump(mode="json")["unit_price"] == "12.50"
    for price in (12.5, "-1", "1.23456", "1e3"):
        with pytest.raises(ValidationError):
            ProductCreate.model_validate({**product, "unit_price": price})


def test_order_lines_need_a_credit_flag_to_go_negative_and_round_half_up() -> None:
    with pytest.raises(ValidationError) as refused:
        OrderLineIn.model_validate({"product_id": "p1", "quantity": "-1"})
    assert refused.value.errors()[0]["loc"] == ("quantity",) and refused.value.errors()[0]["type"] == "credit_required"
    assert OrderLineIn.model_validate({"product_id": "p1", "quantity": "-1", "credit": True}).quantity == -1
    with pytest.raises(ValidationError):
        OrderLineIn.model_validate({"description": "Setup", "quantity": "1"})  # no product: price and class needed
    assert line_total(Decimal(3), Decimal("8.25"), Decimal(10)) == Decimal("22.28")  # 22.275
    assert line_total(Decimal(-1), Decimal("8.25"), Decimal(10)) == Decimal("-7.43")  # -7.425, away from zero
    assert may_become(Status.draft, Status.active) and may_become(Status.active, Status.ended)
    assert not may_become(Status.ended, Status.active) and not may_become(Status.draft, Status.ended)
