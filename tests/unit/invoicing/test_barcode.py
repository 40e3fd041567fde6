"""The Finnish virtual bank barcode, versions 4 and 5 (issue 22, item 6): the example invoices 1-9 of
Finance Finland's Pankkiviivakoodi-opas, and its Code 128 (code set C) bars checked against
python-barcode as the reference encoder."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import barcode as python_barcode
import pytest

from services.invoicing.domain.barcode import PATTERNS, code128c_modules, code128c_symbols, virtual_barcode
from services.invoicing.domain.references import InvalidIdentifier

pytestmark = pytest.mark.disable_socket

# (IBAN, amount, national reference, RF reference, due date, version 4 code, version 5 code): the guide's
# example invoices 1-9 (invoice 2's version 5 example has the due date 31.1.2010, version 4's 31.1.2012).
GUIDE = [
    (
        "FI79 4405 2020 0360 82",
        D("4883.15"),
        "86851 62596 19897",
        "RF09 8685 1625 9619 897",
        dt.date(2010, 6, 12),
        "479440520200360820048831500000000868516259619897100612",
        "579440520200360820048831509000000868516259619897100612",
    ),
    (
        "FI58 1017 1000 0001 22",
        D("482.99"),
        "55958 22432 94671",
        None,
        dt.date(2012, 1, 31),
        "458101710000001220004829900000000559582243294671120131",
        None,
    ),
    (
        "FI58 1017 1000 0001 22",
        D("482.99"),
        None,
        "RF06 5595 8224 3294 671",
        dt.date(2010, 1, 31),
        None,
        "558101710000001220004829906000000559582243294671100131",
    ),
    (
        "FI02 5000 4640 0013 02",
        D("693.80"),
        "69 87567 20834 35364",
        "RF61 6987 5672 0839",
        dt.date(2011, 7, 24),
        "402500046400013020006938000000069875672083435364110724",
        "502500046400013020006938061000000000698756720839110724",
    ),
    (
        "FI15 6601 0001 5306 41",
        D("7444.54"),
        "7 75847 47906 47489",
        "RF84 7758 4747 9064 7489",
        dt.date(2019, 12, 19),
        "415660100015306410074445400000007758474790647489191219",
        "515660100015306410074445484000007758474790647489191219",
    ),
    (
        "FI16 8000 1400 0502 67",
        D("935.85"),
        "78 77767 96566 28687",
        "RF60 7877 7679 6566 2868 7",
        None,
        "416800014000502670009358500000078777679656628687000000",
        "516800014000502670009358560000078777679656628687000000",
    ),
    (
        "FI73 3131 3001 0000 58",
        D("0.00"),
        "8 68624",
        "RF10 8686 24",
        dt.date(2013, 8, 9),
        "473313130010000580000000000000000000000000868624130809",
        "573313130010000580000000010000000000000000868624130809",
    ),
    (
        "FI83 3301 0001 1007 75",
        D("150000.20"),
        "92125 37425 25398 97737",
        "RF71 9212 5374 2525 3989 7737",
        dt.date(2016, 5, 25),
        "483330100011007751500002000092125374252539897737160525",
        "583330100011007751500002071092125374252539897737160525",
    ),
    (
        "FI39 3636 3002 0924 92",
        D("1.03"),
        "5907 38390",
        "RF66 5907 3839 0",
        dt.date(2023, 3, 11),
        "439363630020924920000010300000000000000590738390230311",
        "539363630020924920000010366000000000000590738390230311",
    ),
    (
        "FI92 3939 0001 0033 91",
        D("0.02"),
        "13 57914",
        "RF95 1357 914",
        dt.date(2099, 12, 24),
        "492393900010033910000000200000000000000001357914991224",
        "592393900010033910000000295000000000000001357914991224",
    ),
]


@pytest.mark.parametrize(("iban", "amount", "national", "rf", "due", "v4", "v5"), GUIDE)
def test_the_guides_examples(
    iban: str, amount: D, national: str | None, rf: str | None, due: dt.date | None, v4: str | None, v5: str | None
) -> None:
    if national is not None:
        assert virtual_barcode(iban, national, amount, due) == v4
    if rf is not None:
        assert virtual_barcode(iban, rf, amount, due) == v5


def test_the_fields_and_their_limits() -> None:
    iban, national, due = "FI79 4405 2020 0360 82", "86851 62596 19897", dt.date(2010, 6, 12)
    code = virtual_barcode(iban, national, D("999999.99"), due)
    assert (code[0], code[1:17], code[17:23], code[23:25], code[25:28]) == (
        "4",
        "7944052020036082",
        "999999",
        "99",
        "000",
    )
    assert (code[28:48], code[48:]) == ("00000868516259619897", "100612")
    # above 999 999,99 euros, and without an amount, the amount is zeros; without a due date, "000000"
    assert virtual_barcode(iban, national, D("1000000.00"), due)[17:25] == "00000000"
    assert (
        virtual_barcode(iban, national, None, None)[17:25] + virtual_barcode(iban, national, None, None)[48:]
        == "0" * 14
    )
    with pytest.raises(InvalidIdentifier, match="Finnish IBAN"):
        virtual_barcode("DE89 3704 0044 0532 0130 00", national, D(1), due)
    with pytest.raises(ValueError, match="credit note"):
        virtual_barcode(iban, national, D("-1.00"), due)
    with pytest.raises(InvalidIdentifier):
        virtual_barcode(iban, "86851 62596 19898", D(1), due)


def test_code128_set_c_matches_python_barcode_for_every_pair() -> None:
    every_pair = "".join(f"{n:02d}" for n in range(100))
    for digits in (every_pair, GUIDE[0][5], GUIDE[0][6]):
        assert code128c_modules(digits) == python_barcode.Code128(digits).build()[0]
    symbols = code128c_symbols(GUIDE[0][5])
    assert (symbols[0], symbols[-1], len(symbols)) == (105, 106, 30)  # start C, 27 pairs, check, stop
    assert len(code128c_modules(GUIDE[0][5])) == 11 * 29 + 13
    assert all(sum(map(int, p)) == 11 for p in PATTERNS[:106]) and len(set(PATTERNS)) == 107


def test_code_set_c_takes_an_even_number_of_digits() -> None:
    with pytest.raises(ValueError):
        code128c_symbols("123")
