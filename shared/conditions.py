"""Target group conditions: the fields, the operators and their evaluation, shared by services.

The directory validates and stores a target group's conditions and publishes them in its
target_group.* events; another service (the activities call list) evaluates the same
conditions over its own projected copy of a contact and its account with `matches`, so both
agree on who matches without calling the directory.

What a condition reads:
- `contact` holds the directory Contact's fields as the API shows them (plain dict, dates as
  ISO text or date/datetime values): the fields of `CONTACT_FIELDS` plus `active` and `erased`.
  `contact_keys()` names the top-level keys to keep in a projection.
- `account` holds the contact's account's fields (`ACCOUNT_FIELDS`, see `account_keys()`), or
  None when the contact has no account. Conditions on `account.<field>` read it.
- `class_types` maps class id -> classification type id (for `in_classification_type`).

A passive (active False) or erased contact never matches a condition set, and an empty
condition set matches nobody (a group without conditions never turns into "everyone").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from shared.errors import register_union_tags
from shared.types import Id


class FieldType(StrEnum):
    text = "text"  # free text: equality is case-insensitive, `contains` is a substring
    code = "code"  # picklist code: exact
    id = "id"  # a reference (user, account ...): exact
    date = "date"
    datetime = "datetime"  # compared by its UTC date
    list = "list"  # list of codes or ids: `contains` = membership, `in` = any of


CONTACT_FIELDS: dict[str, FieldType] = {
    "number": FieldType.text,
    "first_name": FieldType.text,
    "last_name": FieldType.text,
    "email": FieldType.text,
    "phone": FieldType.text,
    "mobile": FieldType.text,
    "account_id": FieldType.id,
    "consent_date": FieldType.date,
    "department": FieldType.text,
    "job_title": FieldType.code,
    "category": FieldType.code,
    "region": FieldType.code,
    "groups": FieldType.list,
    "benefit_status": FieldType.code,
    "account_manager_id": FieldType.id,
    "sales_status": FieldType.code,
    "owner.id": FieldType.id,
    "classes": FieldType.list,
    "created_at": FieldType.datetime,
    "updated_at": FieldType.datetime,
}
ACCOUNT_FIELDS: dict[str, FieldType] = {
    "number": FieldType.text,
    "name": FieldType.text,
    "status": FieldType.code,
    "business_id": FieldType.text,
    "email": FieldType.text,
    "phone": FieldType.text,
    "website": FieldType.text,
    "street": FieldType.text,
    "postal_code": FieldType.text,
    "city": FieldType.text,
    "country": FieldType.text,
    "account_manager_id": FieldType.id,
    "owner.id": FieldType.id,
    "classes": FieldType.list,
    "created_at": FieldType.datetime,
}
ACCOUNT_PREFIX = "account."

# The allow-list: contact fields as they are, account fields prefixed "account.".
CONDITION_FIELDS: dict[str, FieldType] = {
    **CONTACT_FIELDS,
    **{ACCOUNT_PREFIX + name: kind for name, kind in ACCOUNT_FIELDS.items()},
}

_SCALAR = frozenset({FieldType.text, FieldType.code, FieldType.id})
_DATES = frozenset({FieldType.date, FieldType.datetime})

Text200 = Annotated[str, Field(min_length=1, max_length=200)]


def contact_keys() -> frozenset[str]:
    """The top-level contact keys evaluation reads: what a projected copy must keep."""
    return frozenset({"id", "active", "erased"} | {f.split(".")[0] for f in CONTACT_FIELDS})


def account_keys() -> frozenset[str]:
    """The top-level account keys evaluation reads: what a projected copy must keep."""
    return frozenset({"id"} | {f.split(".")[0] for f in ACCOUNT_FIELDS})


# ---------------------------------------------------------------------------------------------
# Conditions (validated when a group is saved; the API and events show them as these models)
# ---------------------------------------------------------------------------------------------


def _check_field(field: str, op: str, applies_to: frozenset[FieldType]) -> str:
    kind = CONDITION_FIELDS.get(field)
    if kind is None:
        raise PydanticCustomError("unknown_field", "unknown field '{field}'", {"field": field})
    if kind not in applies_to:
        raise PydanticCustomError(
            "op_not_applicable",
            "'{op}' does not apply to the {kind} field '{field}'",
            {"op": op, "kind": kind.value, "field": field},
        )
    return field


def _field_kind(info: ValidationInfo) -> FieldType | None:
    field = info.data.get("field")
    return CONDITION_FIELDS.get(field) if isinstance(field, str) else None


def _fields_for(kinds: frozenset[FieldType]) -> list[str]:
    return sorted(name for name, kind in CONDITION_FIELDS.items() if kind in kinds)


def _field_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The JSON schema names the fields the condition's op applies to (`field` is an enum)."""
    applies_to: frozenset[FieldType] = getattr(model, "APPLIES_TO", frozenset())
    schema["properties"]["field"]["enum"] = _fields_for(applies_to)


class _FieldCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_field_schema)

    OP: ClassVar[str]
    APPLIES_TO: ClassVar[frozenset[FieldType]]

    field: str

    @field_validator("field")
    @classmethod
    def _known_field(cls, field: str) -> str:
        return _check_field(field, cls.OP, cls.APPLIES_TO)


def _value_by_field_kind(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A date field compares with a date (YYYY-MM-DD), the others with a text of 1 to 200
    characters holding one that is not whitespace."""
    _field_schema(schema, model)
    text = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"[^\s\x1c-\x1f\x85]"}
    by_kind = [
        {"properties": {"field": {"enum": _fields_for(_SCALAR)}, "value": text}},
        {"properties": {"field": {"enum": _fields_for(frozenset({FieldType.date}))}, "value": {"format": "date"}}},
    ]
    schema.setdefault("allOf", []).append({"anyOf": by_kind})  # in allOf: see shared.types.COMBINATORS


class Equals(_FieldCondition):
    """`value` is a date (YYYY-MM-DD) for a date field, else a text of 1 to 200 characters."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_value_by_field_kind)

    OP = "equals"
    APPLIES_TO = _SCALAR | {FieldType.date}

    op: Literal["equals"]
    value: str | date

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: str | date, info: ValidationInfo) -> str | date:
        return _scalar_or_date_value(value, _field_kind(info))


class NotEquals(Equals):
    OP = "not_equals"

    op: Literal["not_equals"]  # type: ignore[assignment]


def _scalar_or_date_value(value: str | date, kind: FieldType | None) -> str | date:
    if kind == FieldType.date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_parsing", "value must be a date (YYYY-MM-DD)") from None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise PydanticCustomError("string_type", "value must be a text of 1 to 200 characters")
    return value


class In(_FieldCondition):
    OP = "in"
    APPLIES_TO = _SCALAR | {FieldType.list}

    op: Literal["in"]
    values: Annotated[list[Text200], Field(min_length=1, max_length=500)]


class Contains(_FieldCondition):
    OP = "contains"
    APPLIES_TO = frozenset({FieldType.text, FieldType.list})

    op: Literal["contains"]
    value: Text200


class IsEmpty(_FieldCondition):
    OP = "is_empty"
    APPLIES_TO = frozenset(FieldType)

    op: Literal["is_empty"]


class DateBefore(_FieldCondition):
    OP = "date_before"
    APPLIES_TO = _DATES

    op: Literal["date_before"]
    value: date


class DateAfter(_FieldCondition):
    OP = "date_after"
    APPLIES_TO = _DATES

    op: Literal["date_after"]
    value: date


class InClass(BaseModel):
    """The contact or its account belongs to the class."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Literal["in_class"]
    value: Id


class InClassificationType(BaseModel):
    """The contact or its account belongs to a class of the classification type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Literal["in_classification_type"]
    value: Id


Condition = Annotated[
    Equals | NotEquals | In | Contains | IsEmpty | DateBefore | DateAfter | InClass | InClassificationType,
    Field(discriminator="op"),
]
CONDITION_OPS: frozenset[str] = frozenset(
    {
        "equals",
        "not_equals",
        "in",
        "contains",
        "is_empty",
        "date_before",
        "date_after",
        "in_class",
        "in_classification_type",
    }
)
register_union_tags(CONDITION_OPS)  # error paths read conditions.0.value, not conditions.0.equals.value

Match = Literal["all", "any"]
Conditions = Annotated[list[Condition], Field(max_length=50)]
CLASS_OPS = frozenset({"in_class", "in_classification_type"})


@cache
def _conditions() -> TypeAdapter[list[Condition]]:
    """Built on first use: a TypeAdapter builds its validator (every condition model's) when created."""
    return TypeAdapter(list[Condition])


def parse_conditions(raw: Iterable[Condition | Mapping[str, Any]]) -> list[Condition]:
    """Condition models from models or their JSON form (e.g. an event's `conditions`).

    Raises pydantic's ValidationError for a condition that is not valid.
    """
    items = list(raw)
    if all(isinstance(c, BaseModel) for c in items):
        return items  # type: ignore[return-value]
    return _conditions().validate_python([c.model_dump() if isinstance(c, BaseModel) else c for c in items])


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def _lookup(record: Mapping[str, Any] | None, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
        if value is None:
            return None
    return value


def _value_of(field: str, contact: Mapping[str, Any], account: Mapping[str, Any] | None) -> Any:
    if field.startswith(ACCOUNT_PREFIX):
        return _lookup(account, field[len(ACCOUNT_PREFIX) :])
    return _lookup(contact, field)


def _as_date(value: Any) -> date | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    return None


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set):
        return len(value) == 0
    return False


def _fold(value: Any) -> str:
    return str(value).strip().casefold()


def _equals(kind: FieldType, actual: Any, expected: str | date) -> bool:
    if _is_empty(actual):
        return False
    if kind in _DATES:
        return _as_date(actual) == expected
    if kind == FieldType.text:
        return _fold(actual) == _fold(expected)
    return bool(actual == expected)


def _in(kind: FieldType, actual: Any, values: Sequence[str]) -> bool:
    if _is_empty(actual):
        return False
    if kind == FieldType.list:
        return any(item in values for item in actual)
    if kind == FieldType.text:
        return _fold(actual) in {_fold(v) for v in values}
    return actual in values


def _contains(kind: FieldType, actual: Any, value: str) -> bool:
    if _is_empty(actual):
        return False
    if kind == FieldType.list:
        return value in actual
    return _fold(value) in _fold(actual)


def _date_compare(actual: Any, value: date, before: bool) -> bool:
    actual_date = _as_date(actual)
    if actual_date is None:
        return False
    return actual_date < value if before else actual_date > value


def _classes_of(contact: Mapping[str, Any], account: Mapping[str, Any] | None) -> list[str]:
    return list(contact.get("classes") or []) + list((account or {}).get("classes") or [])


def _field_matches(condition: _FieldCondition, contact: Mapping[str, Any], account: Mapping[str, Any] | None) -> bool:
    kind = CONDITION_FIELDS[condition.field]
    actual = _value_of(condition.field, contact, account)
    if isinstance(condition, NotEquals):
        return not _equals(kind, actual, condition.value)
    if isinstance(condition, Equals):
        return _equals(kind, actual, condition.value)
    if isinstance(condition, In):
        return _in(kind, actual, condition.values)
    if isinstance(condition, Contains):
        return _contains(kind, actual, condition.value)
    if isinstance(condition, IsEmpty):
        return _is_empty(actual)
    if isinstance(condition, DateBefore | DateAfter):
        return _date_compare(actual, condition.value, before=isinstance(condition, DateBefore))
    raise TypeError(f"unhandled condition {condition!r}")


def holds(
    condition: Condition,
    contact: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    class_types: Mapping[str, str] | None = None,
) -> bool:
    """Whether one condition holds for a contact (and its account, None if it has none).

    A missing value never equals, is never in a list, never contains and has no date; it does
    satisfy `not_equals` and `is_empty`. Contactability is not checked here (see `matches`).
    """
    if isinstance(condition, InClass):
        return condition.value in _classes_of(contact, account)
    if isinstance(condition, InClassificationType):
        types = class_types or {}
        return any(types.get(c) == condition.value for c in _classes_of(contact, account))
    return _field_matches(condition, contact, account)


def is_contactable(contact: Mapping[str, Any]) -> bool:
    """Active and not erased: the only contacts that may be in an audience."""
    return bool(contact.get("active", True)) and not contact.get("erased", False)


def matches(
    conditions: Sequence[Condition | Mapping[str, Any]],
    match: Match,
    contact: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    class_types: Mapping[str, str],
) -> bool:
    """Whether a contact matches a condition set: all of them (match "all") or any of them ("any").

    `conditions` are Condition models or their JSON form as the API and the target_group.*
    events show them (parse them once with `parse_conditions` when evaluating many contacts).
    A passive or erased contact never matches; an empty set matches nobody.
    """
    if not conditions or not is_contactable(contact):
        return False
    parsed = parse_conditions(conditions)
    results = (holds(c, contact, account, class_types) for c in parsed)
    return all(results) if match == "all" else any(results)


def needs_account(conditions: Iterable[Condition]) -> bool:
    """Whether evaluating needs the contact's account (account fields or class lookups)."""
    for condition in conditions:
        if isinstance(condition, InClass | InClassificationType):
            return True
        if condition.field.startswith(ACCOUNT_PREFIX):
            return True
    return False


def uses_classes(conditions: Iterable[Condition]) -> bool:
    """Whether evaluating needs the class -> classification type map."""
    return any(isinstance(c, InClassificationType) for c in conditions)
