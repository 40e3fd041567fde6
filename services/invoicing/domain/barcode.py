"""The Finnish virtual bank barcode (pankkiviivakoodi, Finance Finland's "Pankkiviivakoodi-opas") and
its Code 128 bars (issue 22, item 6).

54 digits, in this order:

  version 4 (a national reference)         version 5 (an RF creditor reference)
  1      version "4"                       1      version "5"
  2-17   the IBAN's 16 digits (no "FI")    2-17   the IBAN's 16 digits
  18-23  euros, 6 digits                   18-25  euros and cents, 6 + 2 digits
  24-25  cents, 2 digits                   26-27  the RF reference's check digits
  26-28  reserved, "000"                   28-48  the RF reference's rest, 21 digits, zeros first
  29-48  the reference, 20 digits, zeros first
  49-54  due date YYMMDD                   49-54  due date YYMMDD

The amount is zeros when there is none or when it is above 999 999,99 euros (the payer types it);
the due date is "000000" when there is none. Only a Finnish IBAN fits (16 digits); a credit note
(nothing to pay, or a negative amount) has no barcode.

The printed barcode is Code 128 in code set C (two digits a symbol): start C, the 27 pairs, the
modulo-103 check symbol, stop. `code128c_modules` gives its modules (1 bar, 0 space); the PDF draws
them (pdf.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .references import InvalidIdentifier, is_rf, validate_iban, validate_national, validate_rf

MAX_AMOUNT = Decimal("999999.99")


def virtual_barcode(iban: str, reference: str, amount: Decimal | None, due: dt.date | None) -> str:
    """The 54-digit virtual barcode: version 5 when `reference` is an RF reference, else version 4."""
    account = validate_iban(iban)
    if not account.startswith("FI"):
        raise InvalidIdentifier("iban", iban, "the bank barcode takes a Finnish IBAN only")
    if amount is not None and not isinstance(amount, Decimal):
        raise TypeError("amounts are Decimal")
    if amount is not None and amount < 0:
        raise ValueError("amount: a negative amount (a credit note) has no bank barcode")
    cents = 0 if amount is None or amount > MAX_AMOUNT else int((amount * 100).to_integral_exact())
    euros_cents = f"{cents:08d}"
    due_text = due.strftime("%y%m%d") if due is not None else "000000"
    if is_rf(reference):
        rf = validate_rf(reference)
        rest = rf[4:]
        if not rest.isdigit() or len(rest) > 21:
            raise InvalidIdentifier("rf_reference", reference, "the bank barcode takes at most 21 digits after RF")
        code = f"5{account[2:]}{euros_cents}{rf[2:4]}{rest:0>21}{due_text}"
    else:
        national = validate_national(reference)
        code = f"4{account[2:]}{euros_cents}000{national:0>20}{due_text}"
    assert len(code) == 54 and code.isdigit()
    return code


# Code 128's symbols as bar/space widths (bar first), values 0-106; each sums to 11 modules, the stop 13.
_TABLE = """
212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232
122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122
321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 112313 132113 132311
211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113
213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422
121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111
241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121
412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412
211214 211232 2331112
"""
PATTERNS: tuple[str, ...] = tuple(_TABLE.split())
START_C, STOP = 105, 106


def code128c_symbols(digits: str) -> list[int]:
    """The symbol values of `digits` (an even number of digits) in code set C: start C, pairs, check, stop."""
    if not digits.isdigit() or len(digits) % 2:
        raise ValueError("code set C takes an even number of digits")
    values = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    check = (START_C + sum(position * value for position, value in enumerate(values, start=1))) % 103
    return [START_C, *values, check, STOP]


def code128c_modules(digits: str) -> str:
    """The barcode's modules, left to right: "1" a bar module, "0" a space module (no quiet zones)."""
    out = []
    for value in code128c_symbols(digits):
        for index, width in enumerate(PATTERNS[value]):
            out.append(("1" if index % 2 == 0 else "0") * int(width))
    return "".join(out)
