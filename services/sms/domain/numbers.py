"""Phone numbers as SMS needs them: E.164, read with the tenant's default country, and only mobile
numbers (and numbers whose type the numbering plan cannot tell apart from mobile) are sent to.

`phonenumbers` (Google's libphonenumber metadata) does the parsing and the validation; its
metadata is large, so it is imported on first use, by the functions that read numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Problem = Literal["invalid_number", "not_mobile"]


@dataclass(frozen=True)
class Number:
    """A number read from a contact's field: `e164` when it can take SMS, else `problem`."""

    raw: str
    e164: str | None = None
    problem: Problem | None = None


def read_number(raw: str, default_country: str) -> Number:
    import phonenumbers
    from phonenumbers import PhoneNumberType

    try:
        parsed = phonenumbers.parse(raw, default_country)
    except phonenumbers.NumberParseException:
        return Number(raw, problem="invalid_number")
    if not phonenumbers.is_valid_number(parsed):
        return Number(raw, problem="invalid_number")
    kind = phonenumbers.number_type(parsed)
    if kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return Number(raw, problem="not_mobile")
    return Number(raw, e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
