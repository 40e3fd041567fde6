"""The call list's rules [000]: filters, access, latest event and sort keys."""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.activities.domain.call_list import (
    CallCreate,
    CallListFilter,
    GroupRule,
    Recompute,
    account_in_call_list,
    chunk_size,
    contact_in_call_list,
    in_target_group,
    later,
    latest_after_change,
    listed,
    projected,
    rank_keys,
    row_of,
    status_allowed,
    visible_to,
    with_account,
    with_record,
)
from shared.auth import Role
from shared.errors import ValidationFailed


def account(**fields: Any) -> dict[str, Any]:
    return {"id": "A1", "status": "active", "account_manager_id": "U1", "classes": ["k-acc"]} | fields


def contact(**fields: Any) -> dict[str, Any]:
    base = {"id": "C1", "active": True, "erased": False, "account_manager_id": "U2", "classes": ["k-con"]}
    return base | fields


def event(event_id: str, start: str, type_: str = "call") -> dict[str, Any]:
    return {"id": event_id, "type": type_, "subject": "s", "start": start, "owner_id": "u1"}


# ----------------------------------------------------------------------------- filters


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


def test_contact_filters_by_own_manager_else_the_accounts_and_class_through_account() -> None:
    assert contact_in_call_list(contact(), account(), CallListFilter(mode="contacts", account_manager_id="U2"))
    assert not contact_in_call_list(contact(), account(), CallListFilter(mode="contacts", account_manager_id="U1"))
    without_own = contact(account_manager_id=None)
    assert contact_in_call_list(without_own, account(), CallListFilter(mode="contacts", account_manager_id="U1"))
    assert contact_in_call_list(contact(), account(), CallListFilter(mode="contacts", class_id="k-acc"))
    assert not contact_in_call_list(contact(), None, CallListFilter(mode="contacts", class_id="k-acc"))
    flt = CallListFilter(mode="contacts", classification_type_id="t1")
    assert contact_in_call_list(contact(), None, flt, {"k-con": "t1"}) is True


def test_filter_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        CallListFilter.model_validate({"mode": "accounts", "sorting": "latest"})


def test_target_group_conditions_over_contacts_and_accounts() -> None:
    north = GroupRule.model_validate({"conditions": [{"field": "region", "op": "equals", "value": "north"}]})
    assert in_target_group(north, "contact", contact(region="north"), account(), {}) is True
    assert in_target_group(north, "contact", contact(region="south"), account(), {}) is False
    assert in_target_group(north, "contact", contact(region="north", active=False), account(), {}) is False
    by_status = GroupRule.model_validate(
        {"conditions": [{"field": "account.status", "op": "equals", "value": "prospect"}]}
    )
    assert in_target_group(by_status, "account", account(status="prospect"), None, {}) is True
    assert in_target_group(by_status, "account", account(), None, {}) is False
    assert in_target_group(north, "account", account(), None, {}) is False  # a contact field: empty
    typed = GroupRule.model_validate({"conditions": [{"op": "in_classification_type", "value": "t1"}]})
    assert in_target_group(typed, "account", account(), None, {"k-acc": "t1"}) is True
    assert in_target_group(GroupRule(), "contact", contact(), account(), {}) is False  # no conditions: nobody


# ----------------------------------------------------------------------------- access


def test_admins_and_managers_see_every_row_users_their_own() -> None:
    assert visible_to(Role.ADMIN, "u1", (), "u9", None)
    assert visible_to(Role.MANAGER, "u1", (), "u9", None)
    assert visible_to(Role.USER, "u1", (), "u1", None)
    assert visible_to(Role.USER, "u1", ("g1",), "g1", None)
    assert visible_to(Role.USER, "u1", (), "u9", "u1")
    assert not visible_to(Role.USER, "u1", ("g1",), "u9", "u8")
    assert not visible_to(Role.USER, "u1", (), None, None)


# ----------------------------------------------------------------------------- latest event


def test_a_later_event_becomes_the_latest_an_earlier_one_does_not() -> None:
    current = event("E1", "2026-01-02T09:00:00.000Z")
    newer = event("E2", "2026-01-03T09:00:00.000Z")
    older = event("E3", "2026-01-01T09:00:00.000Z")
    assert latest_after_change(None, None, older) == older
    assert latest_after_change(current, None, newer) == newer
    assert latest_after_change(current, None, older) == current


def test_the_latest_changed_in_place_or_moved_later_stays_moved_earlier_is_looked_up() -> None:
    current = event("E1", "2026-01-02T09:00:00.000Z")
    renamed = current | {"subject": "renamed"}
    assert latest_after_change(current, current, renamed) == renamed
    moved_later = current | {"start": "2026-02-01T09:00:00.000Z"}
    assert latest_after_change(current, current, moved_later) == moved_later
    moved_earlier = current | {"start": "2025-01-01T09:00:00.000Z"}
    assert latest_after_change(current, current, moved_earlier) == Recompute(exclude="E1", candidate=moved_earlier)


def test_deleting_or_unlinking_the_latest_looks_it_up_others_change_nothing() -> None:
    current = event("E1", "2026-01-02T09:00:00.000Z")
    assert latest_after_change(current, current, None) == Recompute(exclude="E1")
    other = event("E2", "2025-01-01T09:00:00.000Z")
    assert latest_after_change(current, other, None) == current
    assert later(None, other) == other
    assert later(current, other) == current


def test_rank_keys_sort_rows_without_events_as_oldest() -> None:
    none_time, none_type = rank_keys("R1", None)
    some_time, some_type = rank_keys("R2", event("E1", "2026-01-02T09:00:00.000Z", "meeting"))
    assert none_time < some_time
    assert none_type < some_type
    assert some_type.startswith("meeting#2026-01-02")
    assert rank_keys("R3", event("E2", "2026-01-02T09:00:00.000Z", "call"))[1] < some_type


# ----------------------------------------------------------------------------- rows and calls


def test_a_contact_row_shows_its_accounts_status_and_name() -> None:
    data = {
        "record": projected("contact", contact(first_name="Ann", last_name="Lee", owner={"type": "user", "id": "u1"})),
        "account": projected("account", account(name="Acme", status="prospect")),
        "latest": event("E1", "2026-01-02T09:00:00.000Z"),
    }
    row = row_of("contact", "C1", data)
    assert (row.name, row.status, row.account_name, row.owner_id) == ("Ann Lee", "prospect", "Acme", "u1")
    assert row.latest_event is not None
    assert row.latest_event.start == datetime(2026, 1, 2, 9, tzinfo=UTC)


def test_projection_keeps_only_what_the_list_reads() -> None:
    kept = projected("contact", contact(first_name="Ann", secret_note="x", region="north"))
    assert "secret_note" not in kept and kept["region"] == "north"


def test_the_search_mode_decides_what_a_call_is_linked_to() -> None:
    start = "2026-01-02T09:00:00Z"
    CallCreate.model_validate({"mode": "accounts", "account_id": "A1", "subject": "s", "start": start}).check_link()
    CallCreate.model_validate({"mode": "contacts", "contact_id": "C1", "subject": "s", "start": start}).check_link()
    with pytest.raises(ValidationFailed) as missing:
        CallCreate.model_validate({"mode": "accounts", "contact_id": "C1", "subject": "s", "start": start}).check_link()
    assert missing.value.errors[0].field == "account_id"
    with pytest.raises(ValidationFailed) as both:
        body = {"mode": "account_contacts", "contact_id": "C1", "account_id": "A1", "subject": "s", "start": start}
        CallCreate.model_validate(body).check_link()
    assert both.value.errors[0].field == "account_id"


# ----------------------------------------------------------------------------- projection from events


def test_a_redelivered_or_older_record_changes_nothing_a_newer_one_replaces() -> None:
    first = with_record("account", None, account(name="A", version=1))
    assert first is not None and first["record_version"] == 1 and first["announced"] is True
    assert with_record("account", first, account(name="A", version=1)) is None  # redelivered
    second = with_record("account", first, account(name="B", version=2))
    assert second is not None and second["record"]["name"] == "B"
    assert with_record("account", second, account(name="A", version=1)) is None  # late
    latest = {"latest": event("E1", "2026-01-02T09:00:00.000Z")}
    assert with_record("account", latest, account(version=1))["latest"] == latest["latest"]  # type: ignore[index]


def test_a_tombstone_is_never_revived() -> None:
    assert with_record("contact", {"gone": "erased"}, contact(version=9)) is None
    assert not listed("contact", {"gone": "deleted", "announced": True, "record": contact()})


def test_only_announced_rows_and_active_contacts_are_listed() -> None:
    assert not listed("account", {"latest": event("E1", "2026-01-02T09:00:00.000Z")})  # an event came first
    assert listed("account", {"announced": True, "record": account()})
    assert listed("contact", {"announced": True, "record": contact()})
    assert not listed("contact", {"announced": True, "record": contact(active=False)})


def test_a_contact_carries_the_newest_version_of_its_account() -> None:
    acme_v1 = {"announced": True, "record": account(name="Acme"), "record_version": 1}
    acme_v2 = {"announced": True, "record": account(name="Acme 2"), "record_version": 2}
    row = with_account({"record": contact()}, "A1", acme_v2)
    assert (row["account"]["name"], row["account_version"]) == ("Acme 2", 2)
    assert with_account(row, "A1", acme_v1) == row  # an older account does not win
    assert with_account(row, "A1", None) == row  # nothing newer known
    moved = with_account(row, "A2", None)
    assert "account" not in moved  # moved to an account not announced yet
    assert "account" not in with_account(row, None, None)
    assert with_account({"record": contact()}, "A1", {"latest": {}}) == {"record": contact()}  # not announced


def test_a_page_reads_the_page_then_by_the_share_that_passed() -> None:
    assert chunk_size(50, 0, 0, 1000) == 51
    assert chunk_size(50, 25, 51, 1000) == 67  # one in two passed: 26 missing need ~52 reads, plus a quarter
    assert chunk_size(50, 0, 51, 1000) == 153  # none passed: at most three times what was read
    assert chunk_size(50, 1, 900, 1000) == 100  # never past the budget
    assert chunk_size(50, 51, 51, 1000) == 1
