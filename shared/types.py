"""Field types every service's API models share: ids, codes, names, contact details, owners.

Blank strings in optional fields read as absent (None); input models reject unknown fields,
output models ignore them (a stored attribute added later does not break reading).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _strip_upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


EMAIL_PATTERN = r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]{2,}$"
CODE_PATTERN = r"^[a-z0-9_-]{1,64}$"


def _matching(pattern: str, code: str, message: str) -> AfterValidator:
    """A pattern check with a readable message and a stable error code."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise PydanticCustomError(code, message)
        return value

    return AfterValidator(check)


def has_control_character(text: str) -> bool:
    """C0/C1 control characters (CR, LF, NUL, tab ...) and the Unicode line and paragraph separators."""
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text)


def _one_line(value: str) -> str:
    if has_control_character(value):
        raise PydanticCustomError("control_character", "may not contain line breaks or other control characters")
    return value


# A text that may reach a mail header (a From name, a recipient's name, a subject): one line, no
# control characters, or the mail could not be built (or would carry headers of the writer's choice).
OneLine = AfterValidator(_one_line)
MAIL_SUBJECT_MAX = 500  # characters of a mail's subject (a template's, a send request's)
MAIL_NAME_MAX = 201  # a recipient's name: a contact's first and last name (100 each) and a space

Id = Annotated[str, BeforeValidator(_strip), _matching(r"^[0-9A-Za-z_-]{1,64}$", "invalid_id", "not a valid id")]
Code = Annotated[
    str,
    BeforeValidator(_strip),
    _matching(CODE_PATTERN, "invalid_code", "a code is 1 to 64 of a-z, 0-9, _ and -"),
]
Name200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Name200
HeaderText100 = Annotated[Text100, OneLine]
HeaderText200 = Annotated[Text200, OneLine]
Email = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(max_length=254),
    _matching(EMAIL_PATTERN, "invalid_email", "not a valid email address"),
    OneLine,  # the pattern lets other control characters than whitespace through
]
Phone = Annotated[
    str,
    BeforeValidator(_strip),
    _matching(r"^\+?[0-9 ()./-]{3,40}$", "invalid_phone", "not a valid phone number"),
]
Website = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(max_length=300),
    _matching(r"^(https?://)?[^\s/]+\.[^\s]+$", "invalid_url", "not a valid web address"),
]
BusinessId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
# ISO 3166-1 alpha-2 by shape (two letters, upper-cased); the list of assigned codes is not checked.
Country = Annotated[
    str,
    BeforeValidator(_strip_upper),
    _matching(r"^[A-Z]{2}$", "invalid_country", "a country is an ISO 3166 alpha-2 code such as FI"),
]

OptId = Annotated[Id | None, BeforeValidator(blank_to_none)]
OptCode = Annotated[Code | None, BeforeValidator(blank_to_none)]
OptText100 = Annotated[Text100 | None, BeforeValidator(blank_to_none)]
OptText200 = Annotated[Text200 | None, BeforeValidator(blank_to_none)]
OptHeaderText100 = Annotated[HeaderText100 | None, BeforeValidator(blank_to_none)]
OptHeaderText200 = Annotated[HeaderText200 | None, BeforeValidator(blank_to_none)]
OptEmail = Annotated[Email | None, BeforeValidator(blank_to_none)]
OptPhone = Annotated[Phone | None, BeforeValidator(blank_to_none)]
OptWebsite = Annotated[Website | None, BeforeValidator(blank_to_none)]
OptBusinessId = Annotated[BusinessId | None, BeforeValidator(blank_to_none)]
OptPostalCode = Annotated[PostalCode | None, BeforeValidator(blank_to_none)]
OptCountry = Annotated[Country | None, BeforeValidator(blank_to_none)]

IdList = Annotated[list[Id], Field(max_length=200), AfterValidator(_dedupe)]
CodeList = Annotated[list[Code], Field(max_length=100), AfterValidator(_dedupe)]

INPUT = ConfigDict(extra="forbid")
OUTPUT = ConfigDict(extra="ignore")


class Owner(BaseModel):
    """Every entity has exactly one owner: a user or a group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["user", "group"]
    id: Id


def reject_null(value: Any) -> Any:
    """PATCH: a field that a record always has may be left out, but not sent as null."""
    if value is None:
        raise ValueError("may not be null")
    return value
