from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.directory.domain.errors import field_errors_from_validation
from services.directory.domain.models import (
    CEASED_STATUS,
    DEFAULT_PICKLISTS,
    Account,
    AccountCreate,
    AccountUpdate,
    Class,
    ContactCreate,
    ContactUpdate,
    ErasedContactUnchangeable,
    Owner,
    PicklistItem,
    PicklistName,
    PicklistReplace,
    Role,
    TenantSettings,
    UserCreate,
    ValidationFailed,
    apply_account_update,
    apply_contact_update,
    check_picklist_values,
    class_type_map,
    default_picklists,
    erase_contact,
    format_number,
    new_account,
    new_contact,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2025, 3, 2, 9, 30, tzinfo=UTC)


def _errors(exc: ValidationError) -> dict[str, str]:
    return {e.field: e.code for e in field_errors_from_validation(exc)}


def test_account_create_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError) as info:
        AccountCreate.model_validate({"name": "Acme", "colour": "red"})
    assert _errors(info.value) == {"colour": "extra_forbidden"}


def test_account_create_requires_a_name_of_at_most_200_characters() -> None:
    with pytest.raises(ValidationError) as info:
        AccountCreate.model_validate({"name": "   "})
    assert _errors(info.value) == {"name": "string_too_short"}
    with pytest.raises(ValidationError):
        AccountCreate(name="x" * 201)


def test_account_create_normalises_and_defaults() -> None:
    account = AccountCreate.model_validate(
        {"name": " Acme Oy ", "email": " info@acme.fi ", "country": "fi", "city": "", "classes": ["c1", "c1", "c2"]}
    )
    assert account.name == "Acme Oy"
    assert account.status == "active"
    assert account.email == "info@acme.fi"
    assert account.country == "FI"
    assert account.city is None
    assert account.classes == ["c1", "c2"]
    assert account.owner is None


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("email", "not-an-email", "invalid_email"),
        ("email", "a@b", "invalid_email"),
        ("country", "FIN", "invalid_country"),
        ("phone", "call me", "invalid_phone"),
        ("website", "acme", "invalid_url"),
        ("status", "Ceased", "invalid_code"),
    ],
)
def test_account_create_field_constraints(field: str, value: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        AccountCreate.model_validate({"name": "Acme", field: value})
    assert _errors(info.value) == {field: code}


def test_owner_must_be_user_or_group() -> None:
    with pytest.raises(ValidationError) as info:
        AccountCreate.model_validate({"name": "Acme", "owner": {"type": "team", "id": "g1"}})
    assert _errors(info.value) == {"owner.type": "literal_error"}


def test_contact_needs_first_or_last_name() -> None:
    assert ContactCreate(last_name="Virtanen").first_name is None
    assert ContactCreate(first_name="Liisa").last_name is None
    with pytest.raises(ValidationError) as info:
        ContactCreate.model_validate({"first_name": " ", "email": "a@b.fi"})
    assert [e["type"] for e in info.value.errors()] == ["name_required"]


def test_contact_create_marketing_fields() -> None:
    contact = ContactCreate.model_validate(
        {
            "first_name": "Liisa",
            "consent_date": "2024-05-01",
            "groups": ["newsletter", "vip"],
            "category": "customer",
            "active": False,
        }
    )
    assert contact.consent_date == date(2024, 5, 1)
    assert contact.groups == ["newsletter", "vip"]
    assert contact.active is False
    with pytest.raises(ValidationError) as info:
        ContactCreate.model_validate({"first_name": "L", "category": ["customer", "partner"]})
    assert "category" in _errors(info.value)


def test_update_tracks_only_sent_fields() -> None:
    update = AccountUpdate.model_validate({"city": "Tampere", "phone": None})
    assert update.changes() == {"city": "Tampere", "phone": None}
    assert update.model_fields_set == {"city", "phone"}


def test_update_rejects_null_for_required_fields_and_unknown_fields() -> None:
    with pytest.raises(ValidationError) as info:
        AccountUpdate.model_validate({"name": None, "classes": None})
    assert _errors(info.value) == {"name": "value_error", "classes": "value_error"}
    with pytest.raises(ValidationError) as info:
        ContactUpdate.model_validate({"nickname": "x"})
    assert _errors(info.value) == {"nickname": "extra_forbidden"}


def _account() -> Account:
    data = AccountCreate(name="Acme", city="Helsinki", phone="+358 9 123")
    return new_account(data, account_id="A1", number="ACC-1001", caller_user_id="U1", now=NOW)


def test_new_account_owner_defaults_to_caller() -> None:
    account = _account()
    assert account.owner == Owner(type="user", id="U1")
    assert (account.id, account.number, account.version) == ("A1", "ACC-1001", 1)
    assert account.created_at == account.updated_at == NOW


def test_new_account_keeps_given_owner() -> None:
    data = AccountCreate(name="Acme", owner=Owner(type="group", id="G1"))
    account = new_account(data, account_id="A1", number="ACC-1001", caller_user_id="U1", now=NOW)
    assert account.owner == Owner(type="group", id="G1")


def test_new_account_needs_aware_time() -> None:
    with pytest.raises(ValueError):
        new_account(AccountCreate(name="A"), account_id="A1", number="N", caller_user_id="U", now=datetime(2025, 1, 1))


def test_apply_account_update_changes_only_sent_fields() -> None:
    updated = apply_account_update(_account(), AccountUpdate.model_validate({"city": "Oulu", "phone": None}), LATER)
    assert updated.city == "Oulu"
    assert updated.phone is None
    assert updated.name == "Acme"
    assert updated.version == 2
    assert updated.updated_at == LATER
    assert updated.created_at == NOW


def _contact(**fields: object):
    data = ContactCreate.model_validate({"first_name": "Liisa", "last_name": "Virtanen", **fields})
    return new_contact(data, contact_id="C1", number="CON-1001", caller_user_id="U1", now=NOW)


def test_contact_update_cannot_remove_both_names() -> None:
    contact = _contact()
    renamed = apply_contact_update(contact, ContactUpdate.model_validate({"first_name": None}), LATER)
    assert renamed.first_name is None
    assert renamed.last_name == "Virtanen"
    with pytest.raises(ValidationFailed) as info:
        apply_contact_update(renamed, ContactUpdate.model_validate({"last_name": ""}), LATER)
    assert [e.code for e in info.value.errors] == ["name_required"]


def test_erase_contact_clears_personal_data_and_blocks_updates() -> None:
    contact = _contact(email="liisa@example.fi", mobile="+358401234567", account_id="A1", groups=["vip"])
    erased = erase_contact(contact, LATER)
    assert erased.erased is True
    assert erased.active is False
    assert (erased.first_name, erased.last_name, erased.email, erased.mobile) == (None, None, None, None)
    assert erased.groups == []
    assert (erased.id, erased.number, erased.account_id) == ("C1", "CON-1001", "A1")
    with pytest.raises(ErasedContactUnchangeable) as refused:
        apply_contact_update(erased, ContactUpdate(first_name="Back"), LATER)
    # The problem a client gets (409 application/problem+json), whatever the exception is named.
    problem = refused.value
    assert (problem.status, problem.code, problem.title, problem.detail) == (
        409,
        "contact_erased",
        "Conflict",
        "the contact has been erased",
    )


def test_default_picklists_cover_every_list_and_ceased_status() -> None:
    assert set(DEFAULT_PICKLISTS) == set(PicklistName)
    statuses = [item.code for item in DEFAULT_PICKLISTS[PicklistName.account_status]]
    assert {"prospect", "active", "passive", CEASED_STATUS} <= set(statuses)
    assert CEASED_STATUS == "ceased"
    copy = default_picklists()
    copy[PicklistName.region].append(PicklistItem(code="x", label="X"))
    assert "x" not in [i.code for i in DEFAULT_PICKLISTS[PicklistName.region]]


def test_picklist_item_code_is_a_slug_and_codes_are_unique() -> None:
    with pytest.raises(ValidationError):
        PicklistItem(code="Not a slug", label="X")
    with pytest.raises(ValidationError) as info:
        PicklistReplace.model_validate({"items": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]})
    assert "duplicate codes: a" in str(info.value)


def test_check_picklist_values_reports_unknown_and_inactive_codes() -> None:
    lists = default_picklists()
    lists[PicklistName.region] = [
        PicklistItem(code="north", label="North"),
        PicklistItem(code="old", label="Old", active=False),
    ]
    contact = ContactCreate(
        first_name="L", region="old", groups=["newsletter", "nope"], category="customer", sales_status="zzz"
    )
    errors = {(e.field, e.code) for e in check_picklist_values(contact, lists)}
    assert errors == {("region", "inactive_code"), ("groups.1", "unknown_code"), ("sales_status", "unknown_code")}


def test_check_picklist_values_for_accounts_and_patches() -> None:
    lists = default_picklists()
    assert check_picklist_values(AccountCreate(name="A", status=CEASED_STATUS), lists) == []
    errors = check_picklist_values(AccountCreate(name="A", status="gone"), lists)
    assert [(e.field, e.code) for e in errors] == [("status", "unknown_code")]
    assert check_picklist_values(AccountUpdate(city="Oulu"), lists) == []
    assert check_picklist_values({"status": "active"}, lists) == []


def test_tenant_settings_defaults_and_numbers() -> None:
    settings = TenantSettings()
    assert settings.open_modules == []
    assert format_number(settings, "accounts", 1) == "ACC-1001"
    assert format_number(settings, "contacts", 5) == "CON-1005"
    assert format_number(settings, "target_groups", 1) == "TG-1001"
    custom = TenantSettings(number_prefixes={"accounts": ""}, number_start=1)
    assert format_number(custom, "accounts", 3) == "3"
    assert format_number(custom, "contacts", 1) == "1"
    with pytest.raises(ValidationError):
        TenantSettings.model_validate({"open_modules": ["invoices"]})


def test_user_create_defaults_role_user() -> None:
    user = UserCreate(email="a@b.fi", name="A")
    assert user.role is Role.USER
    with pytest.raises(ValidationError):
        UserCreate.model_validate({"email": "a@b.fi", "name": "A", "role": "root"})


def test_class_type_map() -> None:
    classes = [Class(id="k1", name="Spring 2010", classification_type_id="t1"), Class(id="k2", name="Loose")]
    assert class_type_map(classes) == {"k1": "t1"}
