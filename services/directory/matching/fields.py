"""The fields a matching rule can compare, per entity, and how each is read from a record.

A comparable field is one of the record's fields or a combination of them: a contact's `name` is
its first and last name read together (so a swapped pair still matches), its `phones` are its
`phone` and `mobile` numbers (a number typed in the other field is still the same number). Each
has a kind, which says how its value is normalised (`prepare.py`) and which methods compare it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Entity = Literal["contacts", "accounts"]
ENTITIES: tuple[Entity, ...] = ("contacts", "accounts")
Method = Literal["exact", "fuzzy"]
Kind = Literal["person_name", "given_name", "text", "org_name", "email", "phone", "business_id", "website", "code"]


@dataclass(frozen=True)
class FieldSpec:
    kind: Kind
    sources: tuple[str, ...]  # the record's fields it is read from
    methods: tuple[Method, ...] = ("exact", "fuzzy")


_BOTH: tuple[Method, ...] = ("exact", "fuzzy")
_EXACT: tuple[Method, ...] = ("exact",)

CONTACT_FIELDS: dict[str, FieldSpec] = {
    "name": FieldSpec("person_name", ("first_name", "last_name")),
    "first_name": FieldSpec("given_name", ("first_name",)),
    "last_name": FieldSpec("text", ("last_name",)),
    "email": FieldSpec("email", ("email",)),
    "phones": FieldSpec("phone", ("phone", "mobile"), _EXACT),
    "phone": FieldSpec("phone", ("phone",), _EXACT),
    "mobile": FieldSpec("phone", ("mobile",), _EXACT),
    "account_id": FieldSpec("code", ("account_id",), _EXACT),
    "department": FieldSpec("text", ("department",)),
}
ACCOUNT_FIELDS: dict[str, FieldSpec] = {
    "name": FieldSpec("org_name", ("name",)),
    "business_id": FieldSpec("business_id", ("business_id",), _EXACT),
    "email": FieldSpec("email", ("email",)),
    "phone": FieldSpec("phone", ("phone",), _EXACT),
    "website": FieldSpec("website", ("website",), _EXACT),
    "street": FieldSpec("text", ("street",)),
    "postal_code": FieldSpec("code", ("postal_code",), _EXACT),
    "city": FieldSpec("text", ("city",)),
    "country": FieldSpec("code", ("country",), _EXACT),
}
FIELDS: dict[Entity, dict[str, FieldSpec]] = {"contacts": CONTACT_FIELDS, "accounts": ACCOUNT_FIELDS}
# The fields blocking keys are made of (blocking.py), read whatever the rules compare.
KEY_FIELDS: dict[Entity, tuple[str, ...]] = {
    "contacts": ("name", "email", "phones"),
    "accounts": ("name", "business_id", "email", "phone", "website"),
}

ContactField = Literal[
    "name", "first_name", "last_name", "email", "phones", "phone", "mobile", "account_id", "department"
]
AccountField = Literal["name", "business_id", "email", "phone", "website", "street", "postal_code", "city", "country"]
