"""The merge's choice of values and the rules' defaults (services/directory/merges.py, matching/rules.py)."""

import pytest
from pydantic import ValidationError

from services.directory.matching.rules import ContactRules
from services.directory.merges import choose


def test_a_merge_takes_the_chosen_value_else_the_survivors_else_the_newest_non_empty() -> None:
    survivor = {"id": "s", "email": "s@example.fi", "phone": None, "groups": [], "updated_at": "2026-01-01"}
    older = {"id": "o", "email": "o@example.fi", "phone": "+3581", "groups": ["a"], "updated_at": "2026-02-01"}
    newer = {"id": "n", "email": "", "phone": "+3582", "groups": [], "updated_at": "2026-03-01"}
    fields = ["email", "phone", "groups"]
    assert choose(fields, [survivor, older, newer], {}) == (
        {"phone": "+3582", "groups": ["a"]},
        {"phone": "n", "groups": "o"},
    )
    chosen = {"email": "n", "phone": "o"}  # an explicit choice wins, even an empty value
    assert choose(fields, [survivor, older, newer], chosen) == (
        {"email": "", "phone": "+3581", "groups": ["a"]},
        {"email": "n", "phone": "o", "groups": "o"},
    )
    assert choose(fields, [survivor, older], {"email": "s"}) == (
        {"phone": "+3581", "groups": ["a"]},
        {"phone": "o", "groups": "o"},
    )


def test_a_merge_takes_the_tenants_policy_for_the_fields_not_chosen() -> None:
    survivor = {"id": "s", "email": "s@example.fi", "city": None, "updated_at": "2026-02-01"}
    older = {"id": "o", "email": "o@example.fi", "city": "Turku", "updated_at": "2026-01-01"}
    newer = {"id": "n", "email": "n@example.fi", "city": None, "updated_at": "2026-03-01"}
    records = [survivor, older, newer]
    assert choose(["email", "city"], records, {}, "newest") == (
        {"email": "n@example.fi", "city": "Turku"},
        {"email": "n", "city": "o"},
    )
    assert choose(["email", "city"], records, {}, "oldest") == (
        {"email": "o@example.fi", "city": "Turku"},
        {"email": "o", "city": "o"},
    )
    assert choose(["email", "city"], records, {"email": "s"}, "oldest") == ({"city": "Turku"}, {"city": "o"})


def test_rules_of_one_field_need_one_match_unless_told_otherwise() -> None:
    one = ContactRules.model_validate({"fields": [{"field": "email"}]})
    assert one.min_matched_fields == 1
    assert ContactRules.model_validate(one.model_dump()) == one  # stored and read back
    with pytest.raises(ValidationError, match="min_matched_fields"):
        ContactRules.model_validate({"fields": [{"field": "email"}], "min_matched_fields": 2})
