"""The Finnish business id (Y-tunnus) rule of the kernel (shared/business_ids.py: python-stdnum's
`stdnum.fi.ytunnus` check digit, the printed form and the problem codes), and the `BusinessId` field
type of shared/types.py."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from shared.business_ids import (
    InvalidBusinessId,
    business_id,
    check_business_id,
    check_digit,
    is_business_id,
    stored_business_id,
)
from shared.types import OptBusinessId

pytestmark = pytest.mark.disable_socket


def test_known_business_ids() -> None:
    assert check_business_id("0737546-2") == "0737546-2"  # the Finnish Tax Administration's own
    assert check_business_id(" 1234567-1 ") == "1234567-1"
    assert check_digit("1234567") == "1" and check_digit("2345678") == "0"  # remainder 0: check digit 0
    assert check_digit("1234562") == "0" and check_digit("0000006") is None  # remainder 1: no id
    assert business_id(737546) == "0737546-2"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1234567-8", "check_digit"),
        ("0737546-3", "check_digit"),
        ("0000006-0", "check_digit"),  # remainder 1: no check digit is right
        ("12345678", "invalid_business_id"),  # the hyphen is part of the printed form
        ("123456-7", "invalid_business_id"),  # six digits: written with a leading zero today
        ("FI07375462", "invalid_business_id"),  # a VAT number, not a business id
        ("\uff11\uff12\uff13\uff14\uff15\uff16\uff17-1", "invalid_business_id"),  # fullwidth digits
    ],
)
def test_refused_business_ids_say_why(value: str, code: str) -> None:
    with pytest.raises(InvalidBusinessId) as caught:
        check_business_id(value)
    assert caught.value.code == code and not is_business_id(value)


def test_an_id_stored_before_the_rule_is_read_in_its_printed_form_when_it_is_a_right_one() -> None:
    for written in ("0737546-2", "07375462", " 0737546 - 2 ", "FI07375462", "fi 0737546-2"):
        assert stored_business_id(written) == "0737546-2", written
    for wrong in ("0737546-3", "1234567-8", "737546-2", "FI0737546", "Y-tunnus puuttuu", "", None):
        assert stored_business_id(wrong) is None, wrong


class _Account(BaseModel):
    business_id: OptBusinessId = None


def test_a_field_of_the_type_names_the_rule_it_broke() -> None:
    assert _Account(business_id=" 0737546-2").business_id == "0737546-2"
    assert _Account(business_id="  ").business_id is None  # blank reads as absent
    for value, code in (("0737546-3", "check_digit"), ("07375462", "invalid_business_id")):
        with pytest.raises(ValidationError) as caught:
            _Account(business_id=value)
        assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [(("business_id",), code)]
    schema = _Account.model_json_schema()["properties"]["business_id"]["anyOf"][0]
    assert schema == {"type": "string", "pattern": r"^[0-9]{7}-[0-9]$"}
