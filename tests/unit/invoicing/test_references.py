"""Payment references, IBAN and BIC (issue 22, item 6 and the bad-input paragraph):
examples from Finance Finland's guides (the Pankkiviivakoodi-opas invoices) and the banks' pages,
and python-stdnum's ISO 11649 as the reference for the RF form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iso11649

from services.invoicing.domain.references import (
    InvalidIdentifier,
    format_iban,
    format_national,
    format_rf,
    national_check_digit,
    national_from_rf,
    national_reference,
    rf_reference,
    validate_bic,
    validate_iban,
    validate_national,
    validate_rf,
)

pytestmark = pytest.mark.disable_socket

# (national reference as printed, its RF form as printed): the guide's example invoices 1-9, whose
# version 4 and version 5 barcodes carry the same reference in both forms.
GUIDE = [
    ("86851 62596 19897", "RF09 8685 1625 9619 897"),
    ("55958 22432 94671", "RF06 5595 8224 3294 671"),
    ("69 87567 20834 35364", None),
    ("7 75847 47906 47489", "RF84 7758 4747 9064 7489"),
    ("78 77767 96566 28687", "RF60 7877 7679 6566 2868 7"),
    ("8 68624", "RF10 8686 24"),
    ("92125 37425 25398 97737", "RF71 9212 5374 2525 3989 7737"),
    ("5907 38390", "RF66 5907 3839 0"),
    ("13 57914", "RF95 1357 914"),
]


@pytest.mark.parametrize(("printed", "rf"), GUIDE)
def test_the_guides_references_check_and_convert(printed: str, rf: str | None) -> None:
    digits = printed.replace(" ", "")
    assert validate_national(printed) == digits
    assert national_reference(digits[:-1]) == digits
    assert format_national(digits) == printed  # groups of five from the right, as the guide prints them
    if rf is not None:
        assert rf_reference(digits) == rf.replace(" ", "")
        assert format_rf(rf_reference(digits)) == rf
        assert national_from_rf(rf) == digits


def test_the_7_3_1_check_digit() -> None:
    # 1234: 4x7 + 3x3 + 2x1 + 1x7 = 46 -> 4; a sum that is a multiple of ten gives 0
    assert national_check_digit("1234") == "4"
    assert national_reference("1234") == "12344"
    assert national_reference("00123") == "1232"  # leading zeros are not part of a reference
    assert national_check_digit("100") == "9"  # 0x7 + 0x3 + 1x1 = 1 -> 9
    assert national_reference("1000") == "10003"  # 1x7 = 7 -> 3
    assert national_check_digit("550") == "0"  # 0x7 + 5x3 + 5x1 = 20: a multiple of ten gives 0


def test_wrong_references_are_refused_naming_the_field() -> None:
    for bad in ("12345", "123", "012344", "1234567890123456789012", "12a44"):
        with pytest.raises(InvalidIdentifier) as caught:
            validate_national(bad)
        assert caught.value.kind == "reference"
    with pytest.raises(InvalidIdentifier) as caught:
        validate_rf("RF08 8685 1625 9619 897")
    assert caught.value.kind == "rf_reference" and "check digits" in str(caught.value)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=100, max_value=10**19 - 1))
def test_every_reference_and_its_rf_form_pass_python_stdnum(base: int) -> None:
    national = national_reference(base)
    assert validate_national(national) == national
    rf = rf_reference(national)
    assert iso11649.is_valid(rf) and iso11649.compact(rf) == rf
    # one digit changed: the 7-3-1 check digit catches every single-digit error
    changed = national[:-2] + str((int(national[-2]) + 1) % 10) + national[-1]
    with pytest.raises(InvalidIdentifier):
        validate_national(changed)


def test_iban_and_bic() -> None:
    # OP's page: the old account 500094-20028730 is FI49 5000 9420 0287 30, BIC OKOYFIHH
    assert validate_iban("FI49 5000 9420 0287 30") == "FI4950009420028730"
    assert format_iban("FI4950009420028730") == "FI49 5000 9420 0287 30"
    assert validate_iban("fi79 4405 2020 0360 82") == "FI7944052020036082"
    assert validate_bic("okoyfihh") == "OKOYFIHH"
    assert validate_bic("NDEAFIHH") == "NDEAFIHH"
    assert validate_bic("DABAFIHHXXX") == "DABAFIHHXXX"
    for bad, reason in (("FI49 5000 9420 0287 31", "check digits"), ("FI49 5000 9420 0287", "")):
        with pytest.raises(InvalidIdentifier) as caught:
            validate_iban(bad)
        assert caught.value.kind == "iban" and reason in str(caught.value)
    for bad in ("OKOYFI", "OKOY1IHH", "OKOYFIHHX"):
        with pytest.raises(InvalidIdentifier) as caught:
            validate_bic(bad)
        assert caught.value.kind == "bic"
