"""Payment references and account identifiers on Finnish invoices (issue 22, item 6).

- The Finnish national reference number (viitenumero, Finance Finland's "Kotimainen viitenumero"):
  a base of 3 to 19 digits and a check digit. The base's digits, from the right, are multiplied by
  7, 3, 1, 7, 3, 1, ...; the check digit is the difference between the sum and the next multiple of
  ten (0 when the sum is one). 4 to 20 digits, no leading zeros; printed in groups of five digits
  from the right ("1 23453").
- The RF creditor reference (ISO 11649) built from it: "RF", two check digits, the national
  reference; the check digits are 98 - (reference + "2715" + "00" as a number mod 97). Electronic
  form without spaces, printed in groups of four from the left ("RF35 1234 5").
- IBAN and BIC validated by python-stdnum (its IBAN registry gives each country's length and
  format). The Finnish business id (Y-tunnus) is the kernel's (shared/business_ids.py): the
  directory checks its accounts' by the same rule.

Errors are `InvalidIdentifier` (a ValueError) naming what was wrong, for a 4xx problem body.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stdnum.exceptions import ValidationError

WEIGHTS = (7, 3, 1)


def _stdnum(name: str) -> ModuleType:
    """A python-stdnum module, imported at its first use, not at every cold start that loads invoices
    (stdnum.util loads pydoc: ~5-7 ms, as the kernel's business id check: shared/business_ids.py)."""
    return importlib.import_module(f"stdnum.{name}")


class InvalidIdentifier(ValueError):
    """An identifier that is not what it claims: `kind` names it (reference, rf_reference, iban, bic, business_id)."""

    def __init__(self, kind: str, value: str, reason: str) -> None:
        super().__init__(f"{kind}: {value!r} is not valid: {reason}")
        self.kind, self.value, self.reason = kind, value, reason


def _digits(value: str | int) -> str:
    return "".join(str(value).split())


def national_check_digit(base: str | int) -> str:
    """The 7-3-1 check digit of a reference's base (3 to 19 digits)."""
    digits = _digits(base)
    if not digits.isdigit():
        raise InvalidIdentifier("reference", str(base), "digits only")
    total = sum(int(d) * WEIGHTS[i % 3] for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def national_reference(base: str | int) -> str:
    """The national reference for a base (e.g. an invoice number): the base, no leading zeros, and its check digit."""
    digits = _digits(base).lstrip("0")
    if not digits.isdigit() or not 3 <= len(digits) <= 19:
        raise InvalidIdentifier("reference", str(base), "a base of 3 to 19 digits, not starting with zeros")
    return digits + national_check_digit(digits)


def validate_national(reference: str) -> str:
    """The reference in electronic form (no spaces) when its length and check digit are right."""
    digits = _digits(reference)
    if not digits.isdigit() or not 4 <= len(digits) <= 20:
        raise InvalidIdentifier("reference", reference, "4 to 20 digits")
    if digits.startswith("0"):
        raise InvalidIdentifier("reference", reference, "no leading zeros")
    if national_check_digit(digits[:-1]) != digits[-1]:
        raise InvalidIdentifier("reference", reference, "wrong check digit")
    return digits


def format_national(reference: str) -> str:
    """A national reference printed in groups of five digits from the right: "12345 67890 1" -> "1 23456 78901"."""
    digits = _digits(reference)
    head = len(digits) % 5
    groups = ([digits[:head]] if head else []) + [digits[i : i + 5] for i in range(head, len(digits), 5)]
    return " ".join(groups)


def rf_reference(national: str) -> str:
    """The RF creditor reference (ISO 11649), electronic form, made from a valid national reference."""
    digits = validate_national(national)
    check = 98 - int(digits + "271500") % 97
    reference = f"RF{check:02d}{digits}"
    _stdnum("iso11649").validate(reference)  # python-stdnum agrees, or this is a bug
    return reference


def validate_rf(reference: str) -> str:
    """An RF reference in electronic form when its check digits are right (python-stdnum's ISO 11649)."""
    return _validated("iso11649", "rf_reference", reference)


def format_rf(reference: str) -> str:
    """An RF reference printed in groups of four from the left: "RF09 8685 1625 9619 897"."""
    return str(_stdnum("iso11649").format(reference))


def national_from_rf(reference: str) -> str:
    """The national reference inside an RF reference made from one (RF, check digits, the national reference)."""
    return validate_national(validate_rf(reference)[4:])


def is_rf(reference: str) -> bool:
    return _digits(reference).upper().startswith("RF")


def validate_iban(iban: str) -> str:
    """An IBAN in electronic form ("FI7944052020036082") when its country format and check digits are right."""
    return _validated("iban", "iban", iban)


def format_iban(iban: str) -> str:
    """An IBAN in groups of four: "FI79 4405 2020 0360 82"."""
    return str(_stdnum("iban").format(iban))


def validate_bic(bic: str) -> str:
    """A BIC (8 or 11 characters: bank, country, location, optional branch) in upper case."""
    return _validated("bic", "bic", bic)


def _validated(module: str, kind: str, value: str) -> str:
    """`value` in electronic form when python-stdnum's `module` validates it, else `InvalidIdentifier`."""
    from stdnum.exceptions import ValidationError

    try:
        return str(_stdnum(module).validate(value))
    except ValidationError as error:
        raise InvalidIdentifier(kind, value, _reason(error)) from None


def _reason(error: ValidationError) -> str:
    return {
        "InvalidChecksum": "wrong check digits",
        "InvalidLength": "wrong length",
        "InvalidFormat": "wrong format",
        "InvalidComponent": "unknown country or part",
    }.get(type(error).__name__, str(error))
