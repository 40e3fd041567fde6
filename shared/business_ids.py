"""The Finnish business id (Y-tunnus): the one rule every service checks it by.

Printed form "1234567-1": seven digits, a hyphen, a check digit. The digits, from the left, are
multiplied by 7, 9, 10, 5, 8, 4, 2 and summed; the sum's remainder mod 11 gives the check digit:
0 -> 0, 1 -> none (no business id is issued with such digits), else 11 - remainder (Finnish Tax
Administration, "Y-tunnuksen tarkistusmerkki"). Older ids written with six digits are printed
with a leading zero today; the form with seven is the one accepted.

The check digit is python-stdnum's (`stdnum.fi.ytunnus`, already the invoicing IBAN and reference
checks' library): the kernel adds the one printed form it accepts and the problem codes.
`check_business_id` raises `InvalidBusinessId` (a ValueError) whose `code` tells the format
(`invalid_business_id`) from the check digit (`check_digit`); `BusinessId` in shared/types.py
applies it to an API field, so a 422 problem body names the field.
"""

from __future__ import annotations

import re

PATTERN = r"^[0-9]{7}-[0-9]$"
RULE = (
    "A Finnish business id (Y-tunnus) in its printed form 1234567-1 (422 `invalid_business_id`); its "
    "check digit is the seven digits times 7, 9, 10, 5, 8, 4, 2 summed, mod 11: remainder 0 gives 0, "
    "remainder 1 no valid id, else 11 minus the remainder (a wrong one: 422 `check_digit`)."
)
_FORM = re.compile(PATTERN)


class InvalidBusinessId(ValueError):
    """Not a business id: `code` is `invalid_business_id` (its form) or `check_digit`."""

    def __init__(self, value: str, code: str, reason: str) -> None:
        super().__init__(f"{value!r} is not a Finnish business id: {reason}")
        self.value, self.code, self.reason = value, code, reason


def _valid(text: str) -> bool:
    # Imported at the first check, not at every function's cold start (stdnum.util loads pydoc: ~5 ms).
    from stdnum.fi import ytunnus

    return bool(ytunnus.is_valid(text))


def check_digit(digits: str) -> str | None:
    """The check digit of a business id's seven digits; None when no id has them (remainder 1)."""
    if len(digits) != 7 or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"seven digits, not {digits!r}")
    return next((d for d in "0123456789" if _valid(f"{digits}-{d}")), None)


def check_business_id(value: str) -> str:
    """`value` (surrounding whitespace dropped) when it is a business id with a right check digit."""
    text = value.strip()
    if not _FORM.match(text):
        raise InvalidBusinessId(value, "invalid_business_id", "seven digits, a hyphen and a check digit (1234567-1)")
    if not _valid(text):
        reason = "wrong check digit" if check_digit(text[:7]) else "no business id has these seven digits (remainder 1)"
        raise InvalidBusinessId(value, "check_digit", reason)
    return text


def is_business_id(value: str | None) -> bool:
    """Whether `value` is a business id with a right check digit (no exception: for data stored before the rule)."""
    if not value:
        return False
    try:
        check_business_id(value)
    except InvalidBusinessId:
        return False
    return True


def stored_business_id(value: str | None) -> str | None:
    """A business id stored before the rule, in its printed form when it is a right one written
    another common way ("12345671", "1234567 - 1", the VAT number "FI12345671"); None when it is none."""
    if not value:
        return None
    compact = re.sub(r"[\s-]", "", value).upper().removeprefix("FI")
    if len(compact) != 8 or not compact.isascii() or not compact.isdigit():
        return None
    printed = f"{compact[:7]}-{compact[7]}"
    return printed if is_business_id(printed) else None


def business_id(digits: str | int) -> str:
    """The printed business id of seven digits (e.g. for demo data); ValueError when none has them."""
    text = f"{int(digits):07d}" if isinstance(digits, int) else digits
    check = check_digit(text)
    if check is None:
        raise ValueError(f"no business id has the digits {text}")
    return f"{text}-{check}"
