"""The pure parts of the directory's duplicate checks: the rules a PUT is refused with (each
error naming its field), the 409 problem of `duplicates=reject`, and which records a new
default country re-keys."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.directory.duplicate_checks import DuplicatesFound, PossibleDuplicate
from services.directory.duplicate_rekeys import needs_rekey
from services.directory.handlers.routes.duplicates_rules import AccountRulesReplace
from services.directory.matching.rules import default_rules, parse_rules
from shared import api as http
from shared.errors import field_errors_from_pydantic

pytestmark = pytest.mark.disable_socket


def _fields(entity: str, body: dict[str, object]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as raised:
        parse_rules(entity, body)  # type: ignore[arg-type]
    return [(e.field, e.code) for e in field_errors_from_pydantic(raised.value.errors())]


def test_refused_rules_name_their_field() -> None:
    contacts = default_rules("contacts").model_dump(mode="json")
    assert _fields("contacts", {**contacts, "fields": [{"field": "business_id"}]})[0][0] == "fields.0.field"
    assert _fields("accounts", {"fields": [{"field": "phone", "method": "fuzzy"}]}) == [
        ("fields.0", "method_not_allowed")
    ]
    assert _fields("contacts", {**contacts, "default_country": "XX"}) == [("default_country", "unknown_country")]


def test_the_put_body_reads_an_entitys_rules_without_the_entity() -> None:
    sent = AccountRulesReplace.model_validate({"fields": [{"field": "email"}], "min_matched_fields": 1})
    rules = parse_rules("accounts", {**sent.model_dump(mode="json", exclude_unset=True), "entity": "accounts"})
    assert (rules.entity, rules.threshold, rules.default_country) == ("accounts", 0.75, "FI")


def test_reject_answers_409_listing_the_duplicates() -> None:
    found = [PossibleDuplicate(id="C1", score=0.93, matched=["name", "email"])]
    body = json.loads(http.problem_response(DuplicatesFound("contact", found)).body)
    assert (body["status"], body["code"]) == (409, "possible_duplicates")
    assert body["possible_duplicates"] == [{"id": "C1", "score": 0.93, "matched": ["name", "email"]}]


def test_only_numbers_without_a_country_code_are_rekeyed_after_a_new_default_country() -> None:
    assert needs_rekey("contact", {"mobile": "040 1234567"})
    assert needs_rekey("contact", {"phone": "+358 9 123", "mobile": " 0401234567"})
    assert not needs_rekey("contact", {"phone": " +358 9 123", "mobile": "+46 70 1234567", "email": "a@b.fi"})
    assert not needs_rekey("contact", {"mobile": "040 1234567", "erased": True})  # an erased contact has no keys
    assert not needs_rekey("account", {"mobile": "040 1234567"})  # an account has no mobile
    assert needs_rekey("account", {"phone": "09 123 456"})
