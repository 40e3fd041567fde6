"""A record read once for matching: every comparable field normalised, its blocking keys made.

Takes the directory's `Contact`/`Account` models or their dicts (stored `data` maps, API bodies),
reading fields by name, so a scan can feed stored items without building models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import normalise
from .blocking import blocking_keys, order_key
from .fields import FIELDS, KEY_FIELDS, Entity, FieldSpec
from .values import Prepared, Value, person_name

Record = Mapping[str, Any] | object


def field_of(record: Record, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _value(spec: FieldSpec, raw: list[Any], phones: dict[str, str | None], country: str) -> Value:
    kind = spec.kind
    if kind == "person_name":
        return person_name(raw[0], raw[1])
    if kind == "phone":
        numbers = {phones.setdefault(r, normalise.phone(r, country)) for r in raw if r}
        numbers.discard(None)
        return tuple(sorted(n for n in numbers if n)) or None
    text = raw[0] if isinstance(raw[0], str) else None
    if kind == "given_name":
        return " ".join(normalise.given_names(text)) or None
    if kind in ("text", "code"):
        return normalise.code(text)
    if kind == "org_name":
        return normalise.org_name(text)
    if kind == "email":
        return normalise.email(text)
    if kind == "business_id":
        return normalise.business_id(text)
    return normalise.website(text)


def needed_fields(entity: Entity, compared: Iterable[str]) -> tuple[str, ...]:
    """The fields a scan prepares: the ones the rules compare and the ones keys are made of."""
    wanted = {*compared, *KEY_FIELDS[entity]}
    return tuple(name for name in FIELDS[entity] if name in wanted)


def prepare(record: Record, entity: Entity, country: str = "FI", fields: Iterable[str] | None = None) -> Prepared:
    """`record` normalised for `entity`'s comparable fields (or only `fields`: a scan of many
    records keeps what its rules and keys read), phone numbers read with `country`."""
    phones: dict[str, str | None] = {}  # each number parsed once (phone, mobile and phones read it)
    specs = FIELDS[entity]
    values = {
        name: _value(specs[name], [field_of(record, s) for s in specs[name].sources], phones, country)
        for name in (specs if fields is None else fields)
    }
    return Prepared(
        id=str(field_of(record, "id") or ""),  # "" for a record not created yet (check on create)
        values=values,
        keys=blocking_keys(entity, values),
        order=order_key(entity, values),
    )
