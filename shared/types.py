"""Field types every service's API models share: ids, codes, names, contact details, owners.

Blank strings in optional fields read as absent (None); input models reject unknown fields,
output models ignore them (a stored attribute added later does not break reading).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from shared.business_ids import PATTERN as BUSINESS_ID_PATTERN
from shared.business_ids import InvalidBusinessId, check_business_id


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
# EMAIL_PATTERN as the schema states it: also without the control characters `OneLine` refuses.
_NOT_IN_EMAIL = r'@\s,;<>"\x00-\x1f\x7f-\x9f\u2028\u2029'
EMAIL_SCHEMA_PATTERN = rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}.]{{2,}}$"


@dataclass(frozen=True)
class _Matching:
    """A pattern check with a readable message and a stable error code, stated in the JSON schema
    as `pattern` so that a client (and a generated request) knows the rule the server applies."""

    pattern: str
    code: str
    message: str
    schema_pattern: str | None = None  # when other checks of the type narrow the pattern further

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        compiled = re.compile(self.pattern)

        def check(value: str) -> str:
            if not compiled.match(value):
                raise PydanticCustomError(self.code, self.message)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.schema_pattern or self.pattern
        return json_schema


def _matching(pattern: str, code: str, message: str, schema_pattern: str | None = None) -> _Matching:
    return _Matching(pattern, code, message, schema_pattern)


@dataclass(frozen=True)
class SchemaPattern:
    """States in the JSON schema a `pattern` that other constraints already enforce."""

    pattern: str

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


# A text stripped of whitespace and then at least one character long must hold one that is not
# whitespace. pydantic strips Unicode White_Space (with U+0085, which ECMA-262 `\s` lacks); the
# pattern also counts U+001C-U+001F as blank, as Python's `\s` does: a little stricter than the
# server, never looser, in either regex dialect.
NOT_BLANK = SchemaPattern(r"[^\s\x1c-\x1f\x85]")


def has_control_character(text: str) -> bool:
    """C0/C1 control characters (CR, LF, NUL, tab ...) and the Unicode line and paragraph separators."""
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text)


def _one_line(value: str) -> str:
    if has_control_character(value):
        raise PydanticCustomError("control_character", "may not contain line breaks or other control characters")
    return value


# A text that may reach a mail header (a From name, a recipient's name, a subject): one line, no
# control characters, or the mail could not be built (or would carry headers of the writer's choice).
# The schema states it as a pattern (`has_control_character`'s Cc, Zl and Zp).
_LINE_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"


@dataclass(frozen=True)
class _OneLine(SchemaPattern):
    """The check, and its pattern in the schema unless the type states one already (Email's
    excludes control characters; a header text's is restated by `_ONE_LINE_NOT_BLANK`)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(_one_line, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", self.pattern)
        return json_schema


OneLine = _OneLine(rf"^{_LINE_CHAR}*$")
# A one-line text that also holds a character other than whitespace (NOT_BLANK on one line).
_ONE_LINE_NOT_BLANK = SchemaPattern(rf"^{_LINE_CHAR}*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]{_LINE_CHAR}*$")
MAIL_SUBJECT_MAX = 500  # characters of a mail's subject (a template's, a send request's)
MAIL_NAME_MAX = 201  # a recipient's name: a contact's first and last name (100 each) and a space

Id = Annotated[str, BeforeValidator(_strip), _matching(r"^[0-9A-Za-z_-]{1,64}$", "invalid_id", "not a valid id")]
Code = Annotated[
    str,
    BeforeValidator(_strip),
    _matching(CODE_PATTERN, "invalid_code", "a code is 1 to 64 of a-z, 0-9, _ and -"),
]
Name200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NOT_BLANK]
Text200 = Name200
HeaderText100 = Annotated[Text100, OneLine, _ONE_LINE_NOT_BLANK]
HeaderText200 = Annotated[Text200, OneLine, _ONE_LINE_NOT_BLANK]
Email = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(max_length=254),
    _matching(EMAIL_PATTERN, "invalid_email", "not a valid email address", EMAIL_SCHEMA_PATTERN),
    OneLine,  # the pattern lets other control characters than whitespace through
]
Phone = Annotated[
    str,
    BeforeValidator(_strip),
    # checked once stripped: the schema's pattern has no space at either end
    _matching(
        r"^\+?[0-9 ()./-]{3,40}$",
        "invalid_phone",
        "not a valid phone number",
        r"^\+?[0-9()./-][0-9 ()./-]{1,38}[0-9()./-]$",
    ),
]
Website = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(max_length=300),
    # the schema's pattern also names what Python's \s has and ECMA-262's has not
    _matching(
        r"^(https?://)?[^\s/]+\.[^\s]+$",
        "invalid_url",
        "not a valid web address",
        r"^(https?://)?[^\s/\x1c-\x1f\x85]+\.[^\s\x1c-\x1f\x85]+$",
    ),
]


def _checked_business_id(value: str) -> str:
    try:
        return check_business_id(value)
    except InvalidBusinessId as error:
        raise PydanticCustomError(error.code, error.reason) from None


# A Finnish business id (Y-tunnus): its form stated as the schema's pattern, its check digit
# checked by shared/business_ids.py (the one rule; a field using it states it with its RULE).
BusinessId = Annotated[
    str,
    BeforeValidator(_strip),
    _matching(BUSINESS_ID_PATTERN, "invalid_business_id", "a Finnish business id is written 1234567-1"),
    AfterValidator(_checked_business_id),
]
PostalCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), NOT_BLANK]
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


def in_utc(moment: datetime) -> datetime:
    """The same instant in UTC (a stored time without an offset is UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# A moment in time, one rule everywhere: a client sends it with an offset (`+02:00`, `Z`), the
# service stores and answers the same instant in UTC (`Z`). `UtcTime` is the input field (an
# offset required), `Utc` the output field (old records stored with an offset read as UTC too).
UtcTime = Annotated[AwareDatetime, AfterValidator(in_utc)]
Utc = Annotated[datetime, AfterValidator(in_utc)]

IdList = Annotated[list[Id], Field(max_length=200), AfterValidator(_dedupe)]
CodeList = Annotated[list[Code], Field(max_length=100), AfterValidator(_dedupe)]


def _not_null_in_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A PATCH field that `reject_null` guards may be left out but not sent as null: its JSON
    schema loses the null branch pydantic gives an `X | None = None` field."""
    decorators = model.__pydantic_decorators__.field_validators.values()
    names = {name for d in decorators if d.func is reject_null for name in d.info.fields}
    for name in names:
        field = schema.get("properties", {}).get(name)
        if not field or "anyOf" not in field:
            continue
        branches = [b for b in field["anyOf"] if b != {"type": "null"}]
        del field["anyOf"]
        if field.get("default", ...) is None:
            del field["default"]
        if len(branches) == 1:
            field.update({k: v for k, v in branches[0].items() if k not in field})
        else:
            field["anyOf"] = branches


INPUT = ConfigDict(extra="forbid", json_schema_extra=_not_null_in_schema)


# A schema with `anyOf`/`oneOf`/`not` beside its properties becomes, in openapi-python-client, one
# model per branch holding only that branch's properties; inside `allOf` (the same JSON Schema
# meaning) it stays one model with every property.
COMBINATORS = frozenset({"anyOf", "oneOf", "not"})


def input_config(**rules: Any) -> ConfigDict:
    """INPUT whose JSON schema also states rules across fields (`anyOf`, `oneOf`, `not`, ...) that
    the model's validators or the handler enforce, so that the document says what is accepted."""

    combined = {key: rule for key, rule in rules.items() if key in COMBINATORS}
    plain = {key: rule for key, rule in rules.items() if key not in COMBINATORS}

    def extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
        _not_null_in_schema(schema, model)
        schema.update(plain)
        if combined:  # the same rule inside allOf: client generators keep the model's own properties
            schema["allOf"] = [*schema.get("allOf", []), combined]  # a new list: `plain`'s is shared

    return ConfigDict(extra="forbid", json_schema_extra=extra)  # type: ignore[arg-type]


OUTPUT = ConfigDict(extra="ignore")


class Owner(BaseModel):
    """Every entity has exactly one owner: a user or a group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["user", "group"]
    id: Id


def duplicate(message: str) -> PydanticCustomError:
    """A list holds an item twice by its key (a code, a category): a rule JSON Schema cannot
    state (`uniqueItems` compares whole items), so models describe it; the problem's code is
    `duplicate`."""
    return PydanticCustomError("duplicate", message)


def reject_null(value: Any) -> Any:
    """PATCH: a field that a record always has may be left out, but not sent as null."""
    if value is None:
        raise ValueError("may not be null")
    return value
