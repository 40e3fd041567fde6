"""shared.conditions: the condition set matcher other services run over their projected contacts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.directory.domain.conditions import TargetGroup, evaluate
from shared.conditions import (
    CONDITION_FIELDS,
    account_keys,
    contact_keys,
    matches,
    needs_account,
    parse_conditions,
    uses_classes,
)
from shared.contracts.target_groups import TargetGroupChanged

# A projected copy as another service keeps it: JSON values only (dates as ISO text).
CONTACT: dict[str, Any] = {
    "id": "C1",
    "first_name": "Liisa",
    "last_name": "Virtanen",
    "email": "liisa@example.fi",
    "active": True,
    "erased": False,
    "consent_date": "2024-05-01",
    "region": "north",
    "groups": ["newsletter", "vip"],
    "classes": ["k-contact"],
    "account_id": "A1",
    "owner": {"type": "user", "id": "U1"},
    "created_at": "2024-01-10T23:30:00Z",
}
ACCOUNT: dict[str, Any] = {"id": "A1", "name": "Acme Oy", "city": "Oulu", "classes": ["k-account"]}
TYPES = {"k-contact": "t-mailing", "k-account": "t-campaign"}

NORTH = {"op": "equals", "field": "region", "value": "north"}
OULU = {"op": "equals", "field": "account.city", "value": "oulu"}
SOUTH = {"op": "equals", "field": "region", "value": "south"}


def contact(**fields: Any) -> dict[str, Any]:
    return CONTACT | fields


def test_all_needs_every_condition_any_needs_one() -> None:
    assert matches([NORTH, OULU], "all", contact(), ACCOUNT, TYPES) is True
    assert matches([NORTH, SOUTH], "all", contact(), ACCOUNT, TYPES) is False
    assert matches([NORTH, SOUTH], "any", contact(), ACCOUNT, TYPES) is True
    assert matches([SOUTH], "any", contact(), ACCOUNT, TYPES) is False


def test_account_conditions_fail_without_an_account() -> None:
    assert matches([OULU], "all", contact(), None, TYPES) is False
    assert matches([{"op": "is_empty", "field": "account.city"}], "all", contact(), None, TYPES) is True


def test_passive_or_erased_contacts_never_match() -> None:
    assert matches([NORTH], "all", contact(active=False), ACCOUNT, TYPES) is False
    assert matches([NORTH], "any", contact(erased=True), ACCOUNT, TYPES) is False
    assert matches([{"op": "is_empty", "field": "mobile"}], "all", contact(active=False), None, TYPES) is False


def test_an_empty_set_matches_nobody() -> None:
    assert matches([], "all", contact(), ACCOUNT, TYPES) is False
    assert matches([], "any", contact(), ACCOUNT, TYPES) is False


def test_classes_of_the_contact_and_of_its_account() -> None:
    in_account_class = {"op": "in_class", "value": "k-account"}
    assert matches([in_account_class], "all", contact(), ACCOUNT, TYPES) is True
    assert matches([in_account_class], "all", contact(), None, TYPES) is False
    campaign = {"op": "in_classification_type", "value": "t-campaign"}
    assert matches([campaign], "all", contact(), ACCOUNT, TYPES) is True
    assert matches([campaign], "all", contact(), ACCOUNT, {}) is False  # the type comes only from the map
    assert matches([{"op": "in_classification_type", "value": "t-mailing"}], "all", contact(), None, TYPES) is True


def test_dates_in_json_form() -> None:
    assert matches([{"op": "equals", "field": "consent_date", "value": "2024-05-01"}], "all", contact(), None, {})
    # 23:30 UTC on the 10th is still the 10th: compared by its UTC date
    after = {"op": "date_after", "field": "created_at", "value": "2024-01-10"}
    assert matches([after], "all", contact(), None, {}) is False
    assert matches([after], "all", contact(created_at="2024-01-11T00:30:00+02:00"), None, {}) is False
    assert matches([after], "all", contact(created_at="2024-01-11T02:30:00+02:00"), None, {}) is True


def test_models_and_json_form_agree() -> None:
    models = parse_conditions([NORTH, OULU])
    assert matches(models, "all", contact(), ACCOUNT, TYPES) is True
    assert matches([models[0], OULU], "all", contact(), ACCOUNT, TYPES) is True


def test_invalid_conditions_are_rejected() -> None:
    with pytest.raises(ValidationError):
        matches([{"op": "equals", "field": "shoe_size", "value": "42"}], "all", contact(), None, {})
    with pytest.raises(ValidationError):
        parse_conditions([{"op": "date_after", "field": "region", "value": "2024-01-01"}])


def test_a_target_group_event_round_trips_into_the_same_answer() -> None:
    """What the directory decides and what a consumer of target_group.* decides agree."""
    conditions = parse_conditions([NORTH, OULU, {"op": "in_classification_type", "value": "t-campaign"}])
    payload = TargetGroupChanged(id="G1", name="North", conditions=conditions, match="all")
    received = payload.model_dump(mode="json")
    assert received["conditions"][0] == NORTH  # as the API shows it
    assert received["match"] == "all"
    for record in (contact(), contact(region="south"), contact(active=False)):
        directory = evaluate(record, ACCOUNT, conditions, "all", TYPES)
        assert matches(received["conditions"], received["match"], record, ACCOUNT, TYPES) is directory


def test_target_group_conditions_are_the_shared_ones() -> None:
    group = TargetGroup.model_validate(
        {
            "id": "G1",
            "number": "TG-1",
            "name": "North",
            "conditions": [NORTH],
            "owner": {"type": "user", "id": "U1"},
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
        }
    )
    assert group.conditions == parse_conditions([NORTH])


def test_needs_account_and_uses_classes() -> None:
    assert needs_account(parse_conditions([NORTH])) is False
    assert needs_account(parse_conditions([OULU])) is True
    assert needs_account(parse_conditions([{"op": "in_class", "value": "k1"}])) is True
    assert uses_classes(parse_conditions([{"op": "in_class", "value": "k1"}])) is False
    assert uses_classes(parse_conditions([{"op": "in_classification_type", "value": "t1"}])) is True


def test_projection_keys_cover_every_condition_field() -> None:
    for field in CONDITION_FIELDS:
        if field.startswith("account."):
            assert field.removeprefix("account.").split(".")[0] in account_keys()
        else:
            assert field.split(".")[0] in contact_keys()
    assert {"active", "erased", "classes"} <= contact_keys()
    assert "classes" in account_keys()
