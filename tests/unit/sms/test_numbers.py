"""Numbers are read as E.164 with the tenant's country; only mobile numbers can take SMS."""

from __future__ import annotations

import pytest

from services.sms.domain.numbers import read_number


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("040 123 4567", "FI", "+358401234567"),
        ("+358 40 123 4567", "FI", "+358401234567"),
        ("00358401234567", "FI", "+358401234567"),
        ("070-123 45 67", "SE", "+46701234567"),
        ("+46 70 123 45 67", "FI", "+46701234567"),  # a country code wins over the default
    ],
)
def test_mobile_numbers_are_read_as_e164(raw: str, country: str, e164: str) -> None:
    assert read_number(raw, country).e164 == e164


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("09 123 4567", "not_mobile"),  # a Helsinki landline
        ("+358 9 555 1000", "not_mobile"),
        ("12", "invalid_number"),
        ("not a number", "invalid_number"),
        ("+358 40 12", "invalid_number"),
    ],
)
def test_a_landline_or_an_invalid_number_is_named_not_sent(raw: str, problem: str) -> None:
    number = read_number(raw, "FI")
    assert number.e164 is None and number.problem == problem
