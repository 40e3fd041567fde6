"""Money is Decimal with explicit rounding, never float."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field

CENT = Decimal("0.01")

Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]


def round_money(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)
