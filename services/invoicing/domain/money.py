"""Money on invoices: Decimal only, never float.

The rounding rule (issue 22): a line's total is quantity x unit price x (1 - discount % / 100)
(x a proration factor for a partial period), computed exactly and then rounded once to cents with
ROUND_HALF_UP (half a cent rounds away from zero, so a credit note's line is exactly the negation of
the line it credits). Nothing else on a line is rounded; VAT is computed on the rounded line totals
(see vat.py).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_cents(amount: Decimal) -> Decimal:
    """`amount` rounded to cents, ROUND_HALF_UP (half a cent away from zero): 0.005 -> 0.01, -0.005 -> -0.01."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amounts are Decimal, not {type(amount).__name__}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(
    quantity: Decimal,
    unit_price: Decimal,
    discount_percent: Decimal = Decimal(0),
    proration: Fraction | None = None,
) -> Decimal:
    """A line's net total: quantity x unit price x (1 - discount %/100) [x proration], rounded ROUND_HALF_UP
    to cents once, at the end (the exact product first, so no intermediate rounding)."""
    for value in (quantity, unit_price, discount_percent):
        if not isinstance(value, Decimal):
            raise TypeError(f"amounts are Decimal, not {type(value).__name__}")
    exact = quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED
    if proration is not None:
        exact = exact * Decimal(proration.numerator) / Decimal(proration.denominator)
    return to_cents(exact)


def fi_amount(amount: Decimal, *, grouped: bool = True) -> str:
    """An amount as Finns read it: a decimal comma, two decimals, thin groups of three ("1 234,50")."""
    text = f"{to_cents(amount):,.2f}" if grouped else f"{to_cents(amount):.2f}"
    return text.replace(",", " ").replace(".", ",")


def fi_number(value: Decimal) -> str:
    """A quantity or a percentage with a decimal comma and no trailing zeros ("25,5", "2", "0,3226")."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")
