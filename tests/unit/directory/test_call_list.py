from typing import Any

import pytest
from pydantic import ValidationError

from services.directory.domain.call_list import (
    CallListFilter,
    account_in_call_list,
    contact_in_call_list,
    status_allowed,
)


def account(**fields: Any) -> dict[str, Any]:
    return {"id": "A1", "status": "active", "account_manager_id": "U1", "classes": ["k-acc"]} | fields


def contact(**fields: Any) -> dict[str, Any]:
    base = {"id": "C1", "active": True, "erased": False, "account_manager_id": "U2", "classes": ["k-con"]}
    return base | fields


def test_default_status_filter_hides_only_ceased() -> None:
    assert status_allowed("active", []) is True
    assert status_allowed("prospect", []) is True
    assert status_allowed("ceased", []) is False
    assert status_allowed("ceased", ["ceased"]) is True
    assert status_allowed("active", ["ceased"]) is False


def test_accounts_mode() -> None:
    assert account_in_call_list(account(), CallListFilter()) is True
    assert account_in_call_list(account(status="ceased"), CallListFilter()) is False
    assert account_in_call_list(account(status="ceased"), CallListFilter(statuses=["ceased"])) is True
    assert account_in_call_list(account(), CallListFilter(account_manager_id="U9")) is False
    assert account_in_call_list(account(), CallListFilter(class_id="k-acc")) is True
    assert account_in_call_list(account(), CallListFilter(class_id="k-con")) is False
    flt = CallListFilter(classification_type_id="t1")
    assert account_in_call_list(account(), flt, {"k-acc": "t1"}) is True
    assert account_in_call_list(account(), flt, {"k-acc": "t2"}) is False


def test_passive_contacts_never_appear() -> None:
    for mode in ("contacts", "account_contacts"):
        flt = CallListFilter(mode=mode)
        assert contact_in_call_list(contact(active=False), account(), flt) is False
        assert contact_in_call_list(contact(erased=True), account(), flt) is False
        assert contact_in_call_list(contact(), account(), flt) is True


def test_contacts_of_a_ceased_account_stay_in_contacts_mode() -> None:
    flt = CallListFilter(mode="contacts")
    assert contact_in_call_list(contact(), account(status="ceased"), flt) is True
    assert contact_in_call_list(contact(), None, flt) is True
    by_status = CallListFilter(mode="contacts", statuses=["active"])
    assert contact_in_call_list(contact(), account(status="ceased"), by_status) is False
    assert contact_in_call_list(contact(), None, by_status) is False


def test_account_contacts_mode_filters_by_the_account() -> None:
    flt = CallListFilter(mode="account_contacts")
    assert contact_in_call_list(contact(), account(status="ceased"), flt) is False
    assert contact_in_call_list(contact(), None, flt) is False
    by_manager = CallListFilter(mode="account_contacts", account_manager_id="U1")
    assert contact_in_call_list(contact(), account(), by_manager) is True


def test_contact_filters_by_own_manager_and_class_through_account() -> None:
    assert contact_in_call_list(contact(), account(), CallListFilter(mode="contacts", account_manager_id="U2"))
    assert not contact_in_call_list(contact(), account(), CallListFilter(mode="contacts", account_manager_id="U1"))
    assert contact_in_call_list(contact(), account(), CallListFilter(mode="contacts", class_id="k-acc"))
    assert not contact_in_call_list(contact(), None, CallListFilter(mode="contacts", class_id="k-acc"))
    flt = CallListFilter(mode="contacts", classification_type_id="t1")
    assert contact_in_call_list(contact(), None, flt, {"k-con": "t1"}) is True


def test_filter_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        CallListFilter.model_validate({"mode": "accounts", "sort": "latest"})
