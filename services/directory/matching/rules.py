"""Matching rules per tenant and entity: which fields are compared, how, and the threshold.

The score of a pair is the weighted mean of its fields' similarities (0-1), over the fields both
records have. A field empty in one record says nothing either way and is left out. A field empty
in both is left out too, unless `match_empty_fields` is on: then it counts as a match (similarity
1), as "Täsmää tyhjät kentät" does in the seed. A pair is a possible duplicate when its score is
at least `threshold` and at least `min_matched_fields` of its fields matched: by default two, so
a name alone is never enough (different people share names; Salesforce's standard contact rule
likewise asks for the name and one more field), while a name and an email, or a name and the
account, are.

Fields named but not comparable for the entity, a method the field does not take, the same field
twice, weights not above 0 and thresholds outside 0-1 are refused, each error naming its field.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.types import INPUT, duplicate

from .fields import ACCOUNT_FIELDS, CONTACT_FIELDS, AccountField, ContactField, Entity, FieldSpec, Method

Similarity = Literal["jaro_winkler", "token_set"]
MergeValues = Literal["survivor", "newest", "oldest"]
Unit = Annotated[float, Field(ge=0, le=1)]


class FieldRule(BaseModel):
    """One compared field. `exact`: equal after normalisation (similarity 1 or 0). `fuzzy`: the
    similarity function's 0-1 value, and the field is listed as matched from `min_similarity` on."""

    model_config = INPUT
    catalogue: ClassVar[dict[str, FieldSpec]] = {}

    field: str
    method: Method = "exact"
    similarity: Similarity = Field(
        "jaro_winkler",
        description="Fuzzy only: Jaro-Winkler (typos, order kept) or token-set (word order, extra words)",
    )
    min_similarity: Unit = Field(0.9, description="Fuzzy only: the similarity from which the field counts as matched")
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0

    @model_validator(mode="after")
    def _method_taken(self) -> FieldRule:
        spec = self.catalogue.get(self.field)
        if spec is not None and self.method not in spec.methods:
            raise PydanticCustomError(
                "method_not_allowed",
                "{field} is compared {methods} only",
                {"field": self.field, "methods": " or ".join(spec.methods)},
            )
        return self


class ContactFieldRule(FieldRule):
    catalogue: ClassVar[dict[str, FieldSpec]] = CONTACT_FIELDS
    field: ContactField  # type: ignore[assignment]  # narrowed: an unknown field is a 422 naming it


class AccountFieldRule(FieldRule):
    catalogue: ClassVar[dict[str, FieldSpec]] = ACCOUNT_FIELDS
    field: AccountField  # type: ignore[assignment]


class MatchingRules(BaseModel):
    model_config = INPUT

    entity: Entity
    fields: list[FieldRule] = Field(min_length=1, max_length=20)
    threshold: Unit = Field(0.75, description="A pair whose score is at least this is a possible duplicate")
    min_matched_fields: Annotated[int, Field(ge=1, le=20)] = Field(
        2,
        description="How many fields must match besides the score; at most the number of `fields` "
        "(left out: 2, or 1 when one field is compared)",
    )
    match_empty_fields: bool = Field(False, description="A field empty in both records counts as a match")
    default_country: str = Field("FI", description="Phone numbers without a country code are read as this country's")
    merge_values: MergeValues = Field(
        "survivor",
        description="On a merge, the value a field takes when the request does not choose it: `survivor`: the "
        "survivor's, or when it has none the newest record's non-empty one; `newest` / `oldest`: the non-empty "
        "value of the record changed last / first (`updated_at`), the survivor included",
    )

    @field_validator("fields")
    @classmethod
    def _each_field_once(cls, rules: list[FieldRule]) -> list[FieldRule]:
        names = [r.field for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise duplicate(f"fields compared twice: {', '.join(twice)}")
        return rules

    @field_validator("min_matched_fields")
    @classmethod
    def _enough_fields(cls, wanted: int, info: ValidationInfo) -> int:
        compared = info.data.get("fields")  # absent when the fields themselves were refused
        if compared is not None and wanted > len(compared):
            raise PydanticCustomError(
                "above_fields_compared",
                "min_matched_fields is {wanted}, but only {count} fields are compared",
                {"wanted": wanted, "count": len(compared)},
            )
        return wanted

    @model_validator(mode="after")
    def _default_within_fields(self) -> MatchingRules:
        """Left out, `min_matched_fields` is at most the number of fields compared: a rule of one
        field (an email alone) is a rule the tenant may want, not an error."""
        if "min_matched_fields" not in self.model_fields_set:
            self.min_matched_fields = min(self.min_matched_fields, len(self.fields))
        return self

    @field_validator("default_country")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers  # its metadata is large: loaded by the rules' writers only

        country = value.strip().upper()
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise PydanticCustomError("unknown_country", "no numbering plan is known for {country}", {"country": value})
        return country


class ContactRules(MatchingRules):
    entity: Literal["contacts"] = "contacts"
    fields: list[ContactFieldRule] = Field(min_length=1, max_length=20)  # type: ignore[assignment]


class AccountRules(MatchingRules):
    entity: Literal["accounts"] = "accounts"
    fields: list[AccountFieldRule] = Field(min_length=1, max_length=20)  # type: ignore[assignment]


RULES: dict[Entity, type[MatchingRules]] = {"contacts": ContactRules, "accounts": AccountRules}

# The defaults installed for a new tenant. A contact's name is compared with Jaro-Winkler, first
# to first and last to last or swapped, nicknames read as their name; an account's with token-set
# (word order and extra words such as a department: "Acme Finland" and "Acme"). Identifiers weigh
# most: a shared email or number is strong evidence, a different one counts against.
_DEFAULTS: dict[Entity, dict[str, object]] = {
    "contacts": {
        "fields": [
            {"field": "name", "method": "fuzzy", "similarity": "jaro_winkler", "min_similarity": 0.9, "weight": 4},
            {"field": "email", "method": "exact", "weight": 3},
            {"field": "phones", "method": "exact", "weight": 3},
            {"field": "account_id", "method": "exact", "weight": 1},
        ],
        "threshold": 0.75,
    },
    "accounts": {
        "fields": [
            {"field": "name", "method": "fuzzy", "similarity": "token_set", "min_similarity": 0.9, "weight": 3},
            {"field": "business_id", "method": "exact", "weight": 5},
            {"field": "website", "method": "exact", "weight": 2},
            {"field": "email", "method": "exact", "weight": 2},
            {"field": "phone", "method": "exact", "weight": 2},
            {"field": "city", "method": "fuzzy", "similarity": "jaro_winkler", "min_similarity": 0.9, "weight": 1},
        ],
        "threshold": 0.75,
    },
}


def default_rules(entity: Entity) -> MatchingRules:
    """A fresh copy of the rules a new tenant starts with for `entity`."""
    return RULES[entity].model_validate(_DEFAULTS[entity])


def parse_rules(entity: Entity, body: object) -> MatchingRules:
    """A tenant's rules for `entity` from a request body or a stored item (pydantic ValidationError
    when invalid: each error's location names the field, e.g. `fields.2.field`)."""
    data = dict(body) if isinstance(body, dict) else body
    if isinstance(data, dict):
        data.setdefault("entity", entity)
    return RULES[entity].model_validate(data)
