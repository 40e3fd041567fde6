"""CRM event classification of seed 001: defaults, category choice, properties."""

import pytest

from services.activities.domain.crm import (
    CrmCategory,
    CrmSettings,
    check_categories,
    classify,
    default_crm_settings,
)
from shared.errors import ValidationFailed


def settings_with(**changes: object) -> CrmSettings:
    settings = default_crm_settings()
    visit = settings.category("customer_visit")
    assert visit is not None
    categories = [c.model_copy(update=changes) if c.code == "customer_visit" else c for c in settings.categories]
    return settings.model_copy(update={"categories": categories})


def fields(error: ValidationFailed) -> list[str]:
    return [e.field for e in error.errors]


def test_the_defaults_are_those_of_seed_001() -> None:
    settings = default_crm_settings()
    assert [k.label for k in settings.kinds] == ["Events", "Sales", "Marketing"]
    assert [t.label for t in settings.types] == ["CRM events", "Leads", "Sales actions", "Customer visits"]
    assert [p.label for p in settings.properties] == ["Customer feedback", "Commercial", "Advisory"]
    assert [c.label for c in settings.categories] == ["CRM event", "Lead", "Sales action", "Customer visit"]


def test_choosing_a_category_sets_kind_and_type_from_settings() -> None:
    result = classify(default_crm_settings(), {"category": "customer_visit"}, {"category"})
    assert (result["crm_kind"], result["crm_type"]) == ("events", "customer_visits")


def test_a_different_kind_or_type_is_refused_when_the_category_does_not_allow_choice() -> None:
    data = {"category": "customer_visit", "crm_kind": "sales", "crm_type": "leads"}
    with pytest.raises(ValidationFailed) as caught:
        classify(default_crm_settings(), data, set(data))
    assert fields(caught.value) == ["crm_kind", "crm_type"]


def test_sending_the_category_own_kind_is_not_a_choice() -> None:
    data = {"category": "customer_visit", "crm_kind": "events"}
    assert classify(default_crm_settings(), data, set(data))["crm_kind"] == "events"


def test_a_category_that_allows_choice_takes_the_users_kind_and_type() -> None:
    data = {"category": "customer_visit", "crm_kind": "sales", "crm_type": "leads"}
    result = classify(settings_with(allow_choice=True), data, set(data))
    assert (result["crm_kind"], result["crm_type"]) == ("sales", "leads")


def test_properties_are_checkboxes_of_the_tenant_list() -> None:
    data = {"category": "lead", "properties": ["commercial", "advisory"]}
    assert classify(default_crm_settings(), data, set(data))["properties"] == ["commercial", "advisory"]
    data = {"category": "lead", "properties": ["commercial", "nope"]}
    with pytest.raises(ValidationFailed) as caught:
        classify(default_crm_settings(), data, set(data))
    assert fields(caught.value) == ["properties.1"]


def test_an_unknown_or_inactive_category_names_the_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        classify(default_crm_settings(), {"category": "nope"}, {"category"})
    assert fields(caught.value) == ["category"]
    with pytest.raises(ValidationFailed):
        classify(settings_with(active=False), {"category": "customer_visit"}, {"category"})


def test_a_category_must_name_existing_kinds_and_types() -> None:
    bad = CrmCategory(code="x", label="X", kind="nope", type="leads")
    with pytest.raises(ValidationFailed) as caught:
        check_categories(default_crm_settings(), [bad])
    assert fields(caught.value) == ["items.0.kind"]
