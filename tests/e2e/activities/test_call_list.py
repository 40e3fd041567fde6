"""The call list of seed 000 through the gateway: every rule its own test.

One tenant (module fixture) holds a small directory made through the directory's API; the
activities service learns it from the directory's events. Tests that change data use a tenant
of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from ulid import ULID

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, envelopes, new_tenant, put_envelope, settle, walk

ALL_STATUSES = "prospect,active,passive,ceased"


def rows(client: Api, **params: Any) -> list[dict[str, Any]]:
    """Every row of a call list (following cursors)."""
    return walk(client, "/call-list", limit=200, **params)


def names(client: Api, **params: Any) -> list[str]:
    return [r["name"] for r in rows(client, **params)]


def event(client: Api, subject: str, start: str, type_: str = "call", **links: Any) -> dict[str, Any]:
    body = {"type": type_, "subject": subject, "start": start, "end": start, **links}
    return created(client.post("/activities", json=body))


def until(stack: LocalRuntime, ready: Callable[[], bool]) -> None:
    assert settle(stack, ready, attempts=40), "the call list never caught up"


@dataclass
class Directory:
    tenant: str
    admin: Api
    ids: dict[str, str] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


@pytest.fixture(scope="module")
def world(stack: LocalRuntime, session_api: Api) -> Directory:
    """Accounts acme (active, Mia, class spring), beta (prospect, Max), gone (ceased, Mia);
    contacts ann (acme, north), bob (beta, class loose), cid (gone), pat (acme, passive),
    dan (no account, Max, north); target groups North (region) and Prospects (account status)."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    d = Directory(tenant, admin)
    for name in ("mia", "max"):
        d.ids[name] = created(admin.post("/users", json={"email": f"{name}@x.example.fi", "name": name}))["id"]
    mailing = created(admin.post("/classification-types", json={"name": "Mailing list"}))["id"]
    d.ids["mailing"] = mailing
    d.ids["spring"] = created(admin.post("/classes", json={"name": "Spring", "classification_type_id": mailing}))["id"]
    d.ids["loose"] = created(admin.post("/classes", json={"name": "Loose"}))["id"]
    accounts: dict[str, dict[str, Any]] = {
        "acme": {"status": "active", "account_manager_id": d["mia"], "classes": [d["spring"]]},
        "beta": {"status": "prospect", "account_manager_id": d["max"]},
        "gone": {"status": "ceased", "account_manager_id": d["mia"]},
    }
    for name, body in accounts.items():
        d.ids[name] = created(admin.post("/accounts", json={"name": name, **body}))["id"]
    contacts: dict[str, dict[str, Any]] = {
        "ann": {"account_id": d["acme"], "region": "north"},
        "bob": {"account_id": d["beta"], "classes": [d["loose"]]},
        "cid": {"account_id": d["gone"]},
        "pat": {"account_id": d["acme"], "active": False},
        "dan": {"account_manager_id": d["max"], "region": "north"},
    }
    for name, body in contacts.items():
        d.ids[name] = created(admin.post("/contacts", json={"first_name": name, **body}))["id"]
    north = {"name": "North", "conditions": [{"field": "region", "op": "equals", "value": "north"}]}
    d.ids["north"] = created(admin.post("/target-groups", json=north))["id"]
    prospects = {"name": "Prospects", "conditions": [{"field": "account.status", "op": "equals", "value": "prospect"}]}
    d.ids["prospects"] = created(admin.post("/target-groups", json=prospects))["id"]
    starts = {
        "acme-call": ("2026-01-05T09:00:00Z", "call", {"account_id": d["acme"]}),
        "acme-meeting": ("2026-01-10T09:00:00Z", "meeting", {"account_id": d["acme"]}),
        "beta-call": ("2026-01-07T09:00:00Z", "call", {"account_id": d["beta"]}),
        "ann-meeting": ("2026-01-03T09:00:00Z", "meeting", {"contact_id": d["ann"]}),
        "bob-call": ("2026-01-09T09:00:00Z", "call", {"contact_id": d["bob"]}),
    }
    for name, (start, type_, links) in starts.items():
        d.events[name] = event(admin, name, start, type_, **links)

    def ready() -> bool:
        everything = len(rows(admin, mode="contacts")) == 4
        grouped = admin.get("/call-list", params={"target_group_id": d["prospects"]}).status_code == 200
        typed = len(rows(admin, classification_type_id=mailing)) == 1
        return everything and grouped and typed and len(rows(admin, statuses=ALL_STATUSES)) == 3

    until(stack, ready)
    return d


# ----------------------------------------------------------------------------- search modes


def test_search_mode_accounts(world: Directory) -> None:
    found = rows(world.admin, mode="accounts")
    assert {r["name"] for r in found} == {"acme", "beta"}
    assert {r["kind"] for r in found} == {"account"}
    acme = next(r for r in found if r["name"] == "acme")
    assert (acme["id"], acme["status"], acme["account_manager_id"]) == (world["acme"], "active", world["mia"])


def test_search_mode_contacts(world: Directory) -> None:
    found = rows(world.admin, mode="contacts")
    assert {r["name"] for r in found} == {"ann", "bob", "cid", "dan"}
    ann = next(r for r in found if r["name"] == "ann")
    assert (ann["kind"], ann["account_id"], ann["account_name"], ann["status"]) == (
        "contact",
        world["acme"],
        "acme",
        "active",
    )


def test_accounts_limited_to_their_contacts(world: Directory) -> None:
    assert set(names(world.admin, mode="account_contacts")) == {"ann", "bob"}  # not cid (ceased), not dan
    assert names(world.admin, mode="account_contacts", statuses="prospect") == ["bob"]
    assert names(world.admin, mode="account_contacts", statuses="ceased") == ["cid"]
    assert names(world.admin, mode="account_contacts", account_manager_id=world["mia"]) == ["ann"]


# ----------------------------------------------------------------------------- statuses


def test_empty_status_filter_is_every_status_but_ceased(world: Directory) -> None:
    assert set(names(world.admin)) == {"acme", "beta"}
    assert set(names(world.admin, statuses="active,prospect")) == {"acme", "beta"}
    assert names(world.admin, statuses="active") == ["acme"]


def test_ceased_only_when_asked_for(world: Directory) -> None:
    assert names(world.admin, statuses="ceased") == ["gone"]
    assert set(names(world.admin, statuses="ceased,active")) == {"gone", "acme"}
    # Ceasing an account does not make its contacts passive: contacts mode still shows cid.
    assert "cid" in names(world.admin, mode="contacts")
    assert names(world.admin, mode="contacts", statuses="ceased") == ["cid"]


def test_passive_contacts_never_appear(world: Directory) -> None:
    for mode in ("contacts", "account_contacts"):
        assert "pat" not in names(world.admin, mode=mode, statuses=ALL_STATUSES)
    assert "pat" not in names(world.admin, mode="contacts", account_manager_id=world["mia"])
    assert "pat" not in names(world.admin, mode="contacts", target_group_id=world["north"])


# ----------------------------------------------------------------------------- filters


def test_filter_by_account_manager(world: Directory) -> None:
    assert names(world.admin, account_manager_id=world["mia"]) == ["acme"]  # gone is ceased
    assert set(names(world.admin, account_manager_id=world["mia"], statuses=ALL_STATUSES)) == {"acme", "gone"}
    # A contact's own account manager, else its account's.
    assert set(names(world.admin, mode="contacts", account_manager_id=world["max"])) == {"bob", "dan"}


def test_filter_by_class(world: Directory) -> None:
    assert names(world.admin, class_id=world["spring"]) == ["acme"]
    assert names(world.admin, mode="contacts", class_id=world["spring"]) == ["ann"]  # through its account
    assert names(world.admin, mode="contacts", class_id=world["loose"]) == ["bob"]
    assert names(world.admin, class_id=world["loose"]) == []


def test_filter_by_classification_type(world: Directory) -> None:
    assert names(world.admin, classification_type_id=world["mailing"]) == ["acme"]
    assert names(world.admin, mode="contacts", classification_type_id=world["mailing"]) == ["ann"]
    assert names(world.admin, classification_type_id="unknown") == []


def test_filter_by_target_group_conditions(world: Directory) -> None:
    assert set(names(world.admin, mode="contacts", target_group_id=world["north"])) == {"ann", "dan"}
    assert names(world.admin, mode="contacts", target_group_id=world["prospects"]) == ["bob"]
    assert names(world.admin, mode="accounts", target_group_id=world["prospects"]) == ["beta"]
    unknown = world.admin.get("/call-list", params={"target_group_id": "nope"})
    assert_problem(unknown, 422, "query.target_group_id")


# ----------------------------------------------------------------------------- latest event and sorting


def test_each_row_carries_its_latest_event(world: Directory) -> None:
    found = {r["name"]: r["latest_event"] for r in rows(world.admin, statuses=ALL_STATUSES)}
    meeting = world.events["acme-meeting"]
    assert found["acme"] == {
        "id": meeting["id"],
        "type": "meeting",
        "subject": "acme-meeting",
        "start": "2026-01-10T09:00:00Z",
        "owner_id": "admin-1",
    }
    assert found["beta"]["id"] == world.events["beta-call"]["id"]
    assert found["gone"] is None
    contacts = {r["name"]: r["latest_event"] for r in rows(world.admin, mode="contacts")}
    assert contacts["ann"]["id"] == world.events["ann-meeting"]["id"]
    assert contacts["dan"] is None


def test_sort_by_the_latest_events_time(world: Directory) -> None:
    assert names(world.admin, statuses=ALL_STATUSES) == ["acme", "beta", "gone"]  # newest first, none last
    assert names(world.admin, statuses=ALL_STATUSES, order="asc") == ["gone", "beta", "acme"]
    assert names(world.admin, mode="contacts", sort="latest_time")[:2] == ["bob", "ann"]


def test_sort_by_the_latest_events_type(world: Directory) -> None:
    ordered = names(world.admin, mode="contacts", sort="latest_type", order="asc")
    assert set(ordered[:2]) == {"cid", "dan"} and ordered[2:] == ["bob", "ann"]  # none, call, meeting
    assert names(world.admin, mode="contacts", sort="latest_type", order="desc")[:2] == ["ann", "bob"]
    assert names(world.admin, sort="latest_type", order="asc") == ["beta", "acme"]  # call < meeting


# ----------------------------------------------------------------------------- access and isolation


def test_a_user_sees_the_rows_they_own_or_manage_managers_everything(world: Directory, api: Api) -> None:
    mia = api.as_(world.tenant, world["mia"], "user")
    assert names(mia, statuses=ALL_STATUSES) == ["acme", "gone"]
    # Through their accounts' manager: ann (acme) and cid (gone, ceased: contacts mode keeps it); pat is passive.
    assert set(names(mia, mode="contacts")) == {"ann", "cid"}
    manager = api.as_(world.tenant, "m-1", "manager")
    assert set(names(manager)) == {"acme", "beta"}
    assert names(api.as_(world.tenant, "stranger", "user")) == []


def test_another_tenant_sees_nothing(world: Directory, api: Api) -> None:
    other = api.as_(new_tenant(), "admin-1", "admin")
    assert rows(other, statuses=ALL_STATUSES) == []
    body = {"mode": "accounts", "account_id": world["acme"], "subject": "x", "start": "2026-02-01T09:00:00Z"}
    assert_problem(other.post("/call-list/calls", json=body), 404)


# ----------------------------------------------------------------------------- paging and bad input


def test_pages_of_50_with_a_signed_cursor(stack: LocalRuntime, api: Api) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    for first in range(0, 55, 10):
        entries = [account_envelope(tenant, f"A{n:03d}", f"Account {n:03d}") for n in range(first, min(first + 10, 55))]
        for envelope in entries:
            put_envelope(stack, envelope, source="kontakt.directory")
    until(stack, lambda: len(rows(admin)) == 55)
    first_page = admin.get("/call-list").json()
    assert len(first_page["items"]) == 50 and first_page["next_cursor"]
    second = admin.get("/call-list", params={"cursor": first_page["next_cursor"]}).json()
    assert len(second["items"]) == 5 and second["next_cursor"] is None
    assert {r["id"] for r in first_page["items"]} | {r["id"] for r in second["items"]} == {
        f"A{n:03d}" for n in range(55)
    }
    tampered = first_page["next_cursor"][:-2] + ("AA" if not first_page["next_cursor"].endswith("AA") else "BB")
    assert_problem(admin.get("/call-list", params={"cursor": tampered}), 400, "query.cursor")
    other_list = admin.get("/call-list", params={"cursor": first_page["next_cursor"], "order": "asc"})
    assert_problem(other_list, 400, "query.cursor")


def test_bad_filters_are_refused_naming_the_parameter(world: Directory) -> None:
    assert_problem(world.admin.get("/call-list", params={"mode": "people"}), 422, "query.mode")
    assert_problem(world.admin.get("/call-list", params={"statuses": "Not A Code"}), 422, "query.statuses.0")
    assert_problem(world.admin.get("/call-list", params={"sort": "name"}), 422, "query.sort")
    assert_problem(world.admin.get("/call-list", params={"limit": 0}), 422, "query.limit")
    assert_problem(world.admin.get("/call-list", params={"class_id": "a b"}), 422, "query.class_id")


# ----------------------------------------------------------------------------- logging a call


def call(mode: str, start: str, **links: Any) -> dict[str, Any]:
    return {"mode": mode, "subject": f"Call {start}", "start": start, **links}


def latest_of(client: Api, row_id: str, **params: Any) -> Any:
    found = next(r for r in rows(client, statuses=ALL_STATUSES, **params) if r["id"] == row_id)
    return found["latest_event"]


def test_logging_a_call_links_it_by_the_search_mode_and_shows_it_at_once(stack: LocalRuntime, api: Api) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    acme = created(admin.post("/accounts", json={"name": "Acme"}))["id"]
    ann = created(admin.post("/contacts", json={"first_name": "Ann", "account_id": acme}))["id"]
    until(stack, lambda: len(rows(admin, mode="contacts")) == 1 and len(rows(admin)) == 1)

    logged = created(admin.post("/call-list/calls", json=call("accounts", "2026-03-01T09:00:00Z", account_id=acme)))
    assert (logged["account_id"], logged["contact_id"], logged["type"], logged["kind"]) == (acme, None, "call", "event")
    assert logged["source"] == "call_list"
    assert latest_of(admin, acme)["id"] == logged["id"]  # (no waiting)
    assert latest_of(admin, ann, mode="contacts") is None  # linked to the account only

    by_contact = call("account_contacts", "2026-03-02T09:00:00Z", contact_id=ann, type="meeting")
    on_ann = created(admin.post("/call-list/calls", json=by_contact))
    assert (on_ann["contact_id"], on_ann["account_id"], on_ann["type"]) == (ann, None, "meeting")
    assert latest_of(admin, ann, mode="account_contacts")["id"] == on_ann["id"]

    earlier = created(admin.post("/call-list/calls", json=call("accounts", "2026-01-01T09:00:00Z", account_id=acme)))
    assert latest_of(admin, acme)["id"] == logged["id"]  # (an earlier call is not the latest)

    # The latest deleted or moved earlier: the next newest takes its place.
    assert admin.delete(f"/activities/{logged['id']}").status_code == 204
    until(stack, lambda: (latest_of(admin, acme) or {}).get("id") == earlier["id"])
    assert admin.patch(f"/activities/{on_ann['id']}", json={"contact_id": None}).status_code == 200
    assert latest_of(admin, ann, mode="contacts") is None

    assert_problem(admin.post("/call-list/calls", json=call("accounts", "2026-03-01T09:00:00Z")), 422, "account_id")
    both = call("contacts", "2026-03-01T09:00:00Z", contact_id=ann, account_id=acme)
    assert_problem(admin.post("/call-list/calls", json=both), 422, "account_id")
    task = call("accounts", "2026-03-01T09:00:00Z", account_id=acme, type="task")
    assert_problem(admin.post("/call-list/calls", json=task), 422, "type")
    assert_problem(admin.post("/call-list/calls", json={**call("accounts", "x", account_id=acme)}), 422, "start")
    unknown = call("accounts", "2026-03-01T09:00:00Z", account_id="nope")
    assert_problem(admin.post("/call-list/calls", json=unknown), 404)
    assert latest_of(admin, acme)["id"] == earlier["id"]  # (refused calls changed nothing)


def test_an_event_logged_before_the_directory_announces_the_row(stack: LocalRuntime, api: Api) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    account = str(ULID())  # made just now: an activity may name it before it is announced
    early = event(admin, "Before", "2026-04-01T09:00:00Z", account_id=account)
    put_envelope(stack, account_envelope(tenant, account, "Early"), source="kontakt.directory")
    until(stack, lambda: names(admin) == ["Early"])
    assert latest_of(admin, account)["id"] == early["id"]


# ----------------------------------------------------------------------------- projection from events


def account_envelope(
    tenant: str, account_id: str, name: str, version: int = 1, event_type: str = "account.created", **fields: Any
) -> dict[str, Any]:
    record = {
        "id": account_id,
        "number": f"ACC-{account_id}",
        "name": name,
        "status": "active",
        "owner": {"type": "user", "id": "admin-1"},
        "classes": [],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "version": version,
        **fields,
    }
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": "2026-01-01T00:00:00Z",
        "actor": {"type": "user", "id": "admin-1"},
        "correlation_id": "call-list-test",
        "data": {"id": account_id, "record": record, "changed": []},
    }


def test_a_redelivered_or_late_directory_event_changes_nothing(stack: LocalRuntime, api: Api) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    first = account_envelope(tenant, "A1", "First name")
    put_envelope(stack, first, source="kontakt.directory")
    put_envelope(stack, first, source="kontakt.directory")
    until(stack, lambda: names(admin) == ["First name"])
    renamed = account_envelope(tenant, "A1", "Renamed", version=2, event_type="account.updated")
    stale = account_envelope(tenant, "A1", "Stale", version=1, event_type="account.updated")
    put_envelope(stack, renamed, source="kontakt.directory")
    until(stack, lambda: names(admin) == ["Renamed"])
    put_envelope(stack, renamed, source="kontakt.directory")
    put_envelope(stack, stale, source="kontakt.directory")
    put_envelope(stack, first, source="kontakt.directory")
    marker = account_envelope(tenant, "A2", "Marker")  # applied after the three above
    put_envelope(stack, marker, source="kontakt.directory")
    until(stack, lambda: len(rows(admin)) == 2)
    assert sorted(names(admin)) == ["Marker", "Renamed"]


def test_an_account_change_reaches_its_contacts_and_deletes_remove_rows(stack: LocalRuntime, api: Api) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    acme = created(admin.post("/accounts", json={"name": "Acme"}))["id"]
    solo = created(admin.post("/accounts", json={"name": "Solo"}))["id"]
    ann = created(admin.post("/contacts", json={"first_name": "Ann", "account_id": acme}))["id"]
    eve = created(admin.post("/contacts", json={"first_name": "Eve", "account_id": acme}))["id"]
    until(stack, lambda: set(names(admin, mode="account_contacts")) == {"Ann", "Eve"} and len(names(admin)) == 2)

    assert admin.patch(f"/accounts/{acme}", json={"status": "ceased"}).status_code == 200
    until(stack, lambda: names(admin, mode="account_contacts") == [])
    assert set(names(admin, mode="contacts")) == {"Ann", "Eve"}  # not made passive by the account
    assert set(names(admin, mode="account_contacts", statuses="ceased")) == {"Ann", "Eve"}

    assert admin.patch(f"/contacts/{eve}", json={"active": False}).status_code == 200
    until(stack, lambda: names(admin, mode="contacts") == ["Ann"])
    assert admin.patch(f"/contacts/{eve}", json={"active": True}).status_code == 200
    until(stack, lambda: set(names(admin, mode="contacts")) == {"Ann", "Eve"})

    assert admin.post(f"/contacts/{ann}/erase").status_code == 200
    assert admin.delete(f"/contacts/{eve}").status_code == 204
    until(stack, lambda: names(admin, mode="contacts") == [])
    assert admin.delete(f"/accounts/{solo}").status_code == 204
    until(stack, lambda: names(admin, statuses=ALL_STATUSES) == ["Acme"])
    assert len(envelopes(stack, tenant, "contact.erased")) == 1


def test_statuses_repeated_read_as_comma_separated(world: Directory) -> None:
    # requests sends a list as the parameter repeated: statuses=ceased&statuses=active
    assert set(names(world.admin, statuses=["ceased", "active"])) == {"gone", "acme"}
    assert names(world.admin, statuses=["active"]) == ["acme"]
    response = world.admin.get("/call-list", params=[("statuses", "active"), ("statuses", "Not A Code")])
    assert_problem(response, 422, "query.statuses.1")
