import typing
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from services.directory.domain.conditions import (
    CONDITION_FIELDS,
    CONDITION_OPS,
    Condition,
    IsEmpty,
    TargetGroup,
    TargetGroupCreate,
    TargetGroupMembersChange,
    TargetGroupUpdate,
    apply_target_group_update,
    derive_type,
    evaluate,
    is_member,
    matches,
    needs_account,
    new_target_group,
)
from services.directory.domain.errors import field_errors_from_validation

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ADAPTER: TypeAdapter[Condition] = TypeAdapter(Condition)


def cond(**data: Any) -> Condition:
    return ADAPTER.validate_python(data)


def contact(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "C1",
        "number": "CON-1001",
        "first_name": "Liisa",
        "last_name": "Virtanen",
        "email": "liisa@example.fi",
        "active": True,
        "erased": False,
        "consent_date": date(2024, 5, 1),
        "department": "Sales Support",
        "region": "north",
        "groups": ["newsletter", "vip"],
        "classes": ["k-contact"],
        "account_id": "A1",
        "owner": {"type": "user", "id": "U1"},
        "created_at": datetime(2024, 1, 10, 23, 30, tzinfo=UTC),
    }
    return base | fields


def account(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "A1",
        "name": "Acme Oy",
        "status": "active",
        "city": "Helsinki",
        "classes": ["k-account"],
        "owner": {"type": "group", "id": "G1"},
    }
    return base | fields


def test_condition_ops_are_the_tags_of_the_condition_union() -> None:
    members = typing.get_args(typing.get_args(Condition)[0])
    tags = {typing.get_args(member.model_fields["op"].annotation)[0] for member in members}
    assert tags == CONDITION_OPS


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"op": "equals", "field": "region", "value": "north"}, True),
        ({"op": "equals", "field": "region", "value": "south"}, False),
        ({"op": "equals", "field": "last_name", "value": " virtanen "}, True),  # text: case-insensitive
        ({"op": "equals", "field": "consent_date", "value": "2024-05-01"}, True),
        ({"op": "equals", "field": "owner.id", "value": "U1"}, True),
        ({"op": "not_equals", "field": "region", "value": "south"}, True),
        ({"op": "not_equals", "field": "region", "value": "north"}, False),
        ({"op": "not_equals", "field": "category", "value": "customer"}, True),  # missing value
        ({"op": "in", "field": "region", "values": ["south", "north"]}, True),
        ({"op": "in", "field": "region", "values": ["south"]}, False),
        ({"op": "in", "field": "groups", "values": ["events", "vip"]}, True),
        ({"op": "contains", "field": "department", "value": "SUPPORT"}, True),
        ({"op": "contains", "field": "department", "value": "finance"}, False),
        ({"op": "contains", "field": "groups", "value": "vip"}, True),
        ({"op": "contains", "field": "groups", "value": "vi"}, False),  # list: membership, not substring
        ({"op": "contains", "field": "classes", "value": "k-contact"}, True),
        ({"op": "is_empty", "field": "mobile"}, True),
        ({"op": "is_empty", "field": "email"}, False),
        ({"op": "is_empty", "field": "groups"}, False),
        ({"op": "date_before", "field": "consent_date", "value": "2024-05-02"}, True),
        ({"op": "date_before", "field": "consent_date", "value": "2024-05-01"}, False),
        ({"op": "date_after", "field": "consent_date", "value": "2024-04-30"}, True),
        ({"op": "date_after", "field": "consent_date", "value": "2024-05-01"}, False),
        ({"op": "date_after", "field": "created_at", "value": "2024-01-09"}, True),
        ({"op": "date_before", "field": "created_at", "value": "2024-01-10"}, False),
        ({"op": "date_before", "field": "mobile_missing_date", "value": "2024-01-10"}, None),
    ],
)
def test_contact_field_ops(condition: dict[str, Any], expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(ValidationError):
            cond(**condition)
        return
    assert matches(cond(**condition), contact(), account()) is expected


@pytest.mark.parametrize(
    ("condition", "with_account", "expected"),
    [
        ({"op": "equals", "field": "account.status", "value": "active"}, True, True),
        ({"op": "equals", "field": "account.city", "value": "helsinki"}, True, True),
        ({"op": "equals", "field": "account.city", "value": "Oulu"}, True, False),
        ({"op": "not_equals", "field": "account.status", "value": "ceased"}, True, True),
        ({"op": "contains", "field": "account.name", "value": "acme"}, True, True),
        ({"op": "equals", "field": "account.owner.id", "value": "G1"}, True, True),
        ({"op": "equals", "field": "account.city", "value": "Helsinki"}, False, False),
        ({"op": "not_equals", "field": "account.status", "value": "ceased"}, False, True),
        ({"op": "is_empty", "field": "account.city"}, False, True),
        ({"op": "in", "field": "account.status", "values": ["active"]}, False, False),
    ],
)
def test_account_field_ops(condition: dict[str, Any], with_account: bool, expected: bool) -> None:
    assert matches(cond(**condition), contact(), account() if with_account else None) is expected


def test_in_class_matches_through_contact_or_account() -> None:
    assert matches(cond(op="in_class", value="k-contact"), contact(), None) is True
    assert matches(cond(op="in_class", value="k-account"), contact(), account()) is True
    assert matches(cond(op="in_class", value="k-account"), contact(), None) is False
    assert matches(cond(op="in_class", value="k-other"), contact(), account()) is False


def test_in_classification_type_matches_through_contact_or_account() -> None:
    types = {"k-contact": "t-mailing", "k-account": "t-campaign"}
    assert matches(cond(op="in_classification_type", value="t-mailing"), contact(), None, types) is True
    assert matches(cond(op="in_classification_type", value="t-campaign"), contact(), account(), types) is True
    assert matches(cond(op="in_classification_type", value="t-campaign"), contact(), None, types) is False
    assert matches(cond(op="in_classification_type", value="t-campaign"), contact(), account(), {}) is False


def test_evaluate_all_and_any() -> None:
    conditions = [
        cond(op="equals", field="region", value="north"),
        cond(op="equals", field="account.city", value="Oulu"),
    ]
    assert evaluate(contact(), account(), conditions, "all") is False
    assert evaluate(contact(), account(), conditions, "any") is True
    assert evaluate(contact(), account(city="Oulu"), conditions, "all") is True


def test_passive_or_erased_contacts_never_match() -> None:
    conditions = [cond(op="is_empty", field="mobile")]
    assert evaluate(contact(), None, conditions) is True
    assert evaluate(contact(active=False), None, conditions) is False
    assert evaluate(contact(erased=True), None, conditions) is False
    assert evaluate(contact(active=False), None, conditions, "any") is False


def test_empty_condition_set_matches_nobody() -> None:
    assert evaluate(contact(), account(), [], "all") is False


def test_evaluate_accepts_iso_strings_from_json_dumps() -> None:
    record = contact(consent_date="2024-05-01", created_at="2024-01-10T23:30:00+00:00")
    assert evaluate(record, None, [cond(op="date_after", field="created_at", value="2024-01-09")]) is True
    assert evaluate(record, None, [cond(op="equals", field="consent_date", value="2024-05-01")]) is True


def test_needs_account() -> None:
    assert needs_account([cond(op="equals", field="region", value="north")]) is False
    assert needs_account([cond(op="equals", field="account.city", value="Oulu")]) is True
    assert needs_account([cond(op="in_class", value="k1")]) is True
    assert needs_account([cond(op="in_classification_type", value="t1")]) is True
    assert needs_account([]) is False


def _field_errors(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        TargetGroupCreate.model_validate({"name": "G", "conditions": [data]})
    return {e.field: e.code for e in field_errors_from_validation(info.value)}


def test_unknown_condition_field_is_named() -> None:
    assert _field_errors({"op": "equals", "field": "shoe_size", "value": "42"}) == {
        "conditions.0.field": "unknown_field"
    }


def test_op_must_fit_the_field_type() -> None:
    assert _field_errors({"op": "date_before", "field": "first_name", "value": "2024-01-01"}) == {
        "conditions.0.field": "op_not_applicable"
    }
    assert _field_errors({"op": "contains", "field": "region", "value": "no"}) == {
        "conditions.0.field": "op_not_applicable"
    }
    assert _field_errors({"op": "equals", "field": "groups", "value": "vip"}) == {
        "conditions.0.field": "op_not_applicable"
    }


def test_condition_value_must_fit_the_field() -> None:
    assert _field_errors({"op": "equals", "field": "consent_date", "value": "yesterday"}) == {
        "conditions.0.value": "date_parsing"
    }
    assert _field_errors({"op": "in", "field": "region", "values": []}) == {"conditions.0.values": "too_short"}
    assert _field_errors({"op": "equals", "field": "region", "value": "north", "extra": 1}) == {
        "conditions.0.extra": "extra_forbidden"
    }


def test_unknown_op_is_rejected() -> None:
    assert _field_errors({"op": "like", "field": "region", "value": "n"}) == {"conditions.0": "union_tag_invalid"}


def test_every_allowed_field_accepts_is_empty() -> None:
    for field in CONDITION_FIELDS:
        condition = cond(op="is_empty", field=field)
        assert isinstance(condition, IsEmpty)
        assert condition.field == field


def test_derive_type() -> None:
    assert derive_type(False, 0) == "static"
    assert derive_type(False, 3) == "static"
    assert derive_type(True, 0) == "dynamic"
    assert derive_type(True, 2) == "mixed"


def _group(**data: Any) -> TargetGroup:
    create = TargetGroupCreate.model_validate({"name": "Newsletter north", **data})
    return new_target_group(create, group_id="T1", number="TG-1001", caller_user_id="U1", now=NOW)


def test_new_target_group_derives_type_and_owner() -> None:
    dynamic = _group(conditions=[{"op": "equals", "field": "region", "value": "north"}])
    assert (dynamic.type, dynamic.number, dynamic.owner.id, dynamic.public) == ("dynamic", "TG-1001", "U1", False)
    assert _group(contact_ids=["C1", "C2", "C1"]).type == "static"
    mixed = _group(conditions=[{"op": "in_class", "value": "k1"}], contact_ids=["C9"])
    assert (mixed.type, mixed.static_member_count) == ("mixed", 1)


def test_target_group_round_trips_through_json() -> None:
    group = _group(conditions=[{"op": "date_after", "field": "consent_date", "value": "2024-01-01"}])
    again = TargetGroup.model_validate_json(group.model_dump_json())
    assert again == group


def test_target_group_update_rederives_type() -> None:
    group = _group(contact_ids=["C1"])
    update = TargetGroupUpdate.model_validate({"conditions": [{"op": "equals", "field": "region", "value": "north"}]})
    updated = apply_target_group_update(group, update, NOW)
    assert (updated.type, updated.version, updated.name) == ("mixed", 2, "Newsletter north")
    cleared = apply_target_group_update(updated, TargetGroupUpdate(conditions=[]), NOW, static_member_count=0)
    assert cleared.type == "static"
    with pytest.raises(ValidationError):
        TargetGroupUpdate.model_validate({"match": None})


def test_members_change_cannot_add_and_remove_the_same_contact() -> None:
    with pytest.raises(ValidationError):
        TargetGroupMembersChange(add=["C1", "C2"], remove=["C2"])
    assert TargetGroupMembersChange(add=["C1"], remove=["C2"]).remove == ["C2"]


def test_is_member_static_or_dynamic_but_only_contactable() -> None:
    group = _group(conditions=[{"op": "equals", "field": "region", "value": "south"}])
    assert is_member(contact(), None, group, static_member_ids=["C1"]) is True
    assert is_member(contact(), None, group) is False
    assert is_member(contact(region="south"), None, group) is True
    assert is_member(contact(active=False), None, group, static_member_ids=["C1"]) is False
    assert is_member(contact(erased=True), None, group, static_member_ids=["C1"]) is False
