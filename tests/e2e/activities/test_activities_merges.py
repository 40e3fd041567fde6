"""Merged contacts and accounts reach the activities service: every reference moves to the survivor, once.

The directory merges records and publishes `contact.merged` / `account.merged`; here the test puts
those envelopes on the bus as the directory would, after making the references through the API
(events and tasks, a contact order with its facility and booking, marketing activities, the call
list's rows), and counts each kind of reference through the API: after a consumer killed at each
of its first steps, after a second delivery, after a late directory event about a merged record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_moved,
    created,
    envelopes,
    merge_envelope,
    new_tenant,
    put_envelope,
    quick_redelivery,
    settle,
    walk,
)

EVENTS_QUEUE = "kontakt-dev-activities-events"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
FACILITIES = "/contact-orders/facilities"


@dataclass
class World:
    tenant: str
    admin: Api
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


def _record_of(stack: LocalRuntime, tenant: str, event_type: str, record_id: str) -> dict[str, Any]:
    return next(e for e in envelopes(stack, tenant, event_type) if e["data"]["id"] == record_id)


def _ids(client: Api, path: str, **params: Any) -> list[str]:
    return sorted(item["id"] for item in walk(client, path, limit=50, **params))


def _rows(client: Api, mode: str) -> dict[str, dict[str, Any]]:
    listed = walk(client, "/call-list", limit=200, mode=mode)
    assert len(listed) == len({r["id"] for r in listed}), listed  # one row per record
    return {r["id"]: r for r in listed}


def _published(stack: LocalRuntime, tenant: str) -> int:
    return len(envelopes(stack, tenant, "activity.updated")) + len(envelopes(stack, tenant, "contact_order.updated"))


@pytest.fixture(scope="module")
def world(stack: LocalRuntime, session_api: Api) -> Iterator[World]:
    """Accounts keep and gone; contacts maija (keep) and dup (gone, the same person), and other
    (gone); on dup: an event (the latest), a task, an order at facility "Boiler room" with a
    booking, two marketing activities; on maija: an earlier event and one marketing activity."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    w = World(tenant, admin)
    for name in ("keep", "gone"):
        w.ids[name] = created(admin.post("/accounts", json={"name": f"Acme {name}", "status": "active"}))["id"]
    for name, account in (("maija", "keep"), ("dup", "gone"), ("other", "gone")):
        body = {"first_name": name, "last_name": "Virtanen", "account_id": w[account]}
        w.ids[name] = created(admin.post("/contacts", json=body))["id"]
    links = {"contact_id": w["dup"], "account_id": w["gone"]}
    meeting = {"type": "meeting", "subject": "Renewal", "start": "2026-03-05T09:00:00Z", "end": "2026-03-05T10:00:00Z"}
    w.ids["late_event"] = created(admin.post("/activities", json={**meeting, **links}))["id"]
    task = {"type": "task", "subject": "Send offer", "due": "2026-03-06T09:00:00Z"}
    w.ids["task"] = created(admin.post("/activities", json={**task, **links}))["id"]
    early = {**meeting, "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "subject": "Intro"}
    w.ids["early_event"] = created(admin.post("/activities", json={**early, "contact_id": w["maija"]}))["id"]
    order = {"subject": "Boiler service", "facility_name": "Boiler room", **links}
    w.ids["order"] = created(admin.post("/contact-orders", json=order))["id"]
    booking = {"channel": "meeting", "start": "2026-03-07T09:00:00Z", "end": "2026-03-07T10:00:00Z"}
    w.ids["booking"] = created(admin.post(f"/contact-orders/{w['order']}/bookings", json=booking))["id"]
    for name, contact, kind, at in (
        ("call", "dup", "outgoing_call", "2026-03-02T09:00:00Z"),
        ("visit", "dup", "visit", "2026-03-03T09:00:00Z"),
        ("kept_call", "maija", "outgoing_call", "2026-03-02T11:00:00Z"),
    ):
        account = w["gone"] if contact == "dup" else w["keep"]
        body = {"contact_id": w[contact], "account_id": account, "type": kind, "at": at}
        w.ids[name] = created(admin.post("/marketing-activities", json=body))["id"]
    assert settle(stack, lambda: len(_rows(admin, "contacts")) == 3 and len(_rows(admin, "accounts")) == 2)
    yield w


def test_a_contact_merge_moves_every_reference_once_through_crashes_and_redeliveries(
    world: World, stack: LocalRuntime
) -> None:
    w, admin = world, world.admin
    maija, dup = w["maija"], w["dup"]
    record = _record_of(stack, w.tenant, "contact.created", maija)["data"]["record"]
    record = {**record, "last_name": "Virtanen-Merged", "version": int(record["version"]) + 1}
    merge = merge_envelope(w.tenant, "contact", record, [dup])
    published = _published(stack, w.tenant)
    # The consumer dies after each of its first four writes: the markers, the survivor's call-list
    # row, the merged row's tombstone, the first moved event; each redelivery goes on from there.
    kills = [Fault("dynamodb", "TransactWriteItems", "after") for _ in range(4)]
    assert stack.functions is not None
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("ActivitiesConsumerFunction", faults=kills) as armed,
    ):
        put_envelope(stack, merge)
        everyone = sorted([w["call"], w["visit"], w["kept_call"]])
        assert settle(stack, lambda: _ids(admin, "/marketing-activities", contact_id=maija) == everyone, attempts=40)
        assert all(fault.fired for fault in armed)

    def check() -> None:
        # Events and tasks: on the survivor, each once; a list by the merged contact is a 301 to the
        # survivor's (a client that follows it, as walk does page by page, reads the survivor's).
        assert _ids(admin, "/activities", contact_id=maija) == sorted([w["late_event"], w["task"], w["early_event"]])
        assert_moved(admin, "/activities", dup, maija, contact_id=dup, limit=5)
        assert _ids(admin, "/activities", contact_id=dup) == _ids(admin, "/activities", contact_id=maija)
        # The call list: one row for the person, with the newest record and the latest event of both.
        rows = _rows(admin, "contacts")
        assert sorted(rows) == sorted([maija, w["other"]])
        assert rows[maija]["name"] == "maija Virtanen-Merged"
        assert rows[maija]["latest_event"]["id"] == w["late_event"]
        # The contact order, its list copy and its booking name the survivor.
        assert admin.get(f"/contact-orders/{w['order']}").json()["contact_id"] == maija
        assert _ids(admin, "/contact-orders", contact_id=maija) == [w["order"]]
        assert_moved(admin, "/contact-orders", dup, maija, contact_id=dup)
        booking = admin.get(f"/contact-orders/{w['order']}/bookings/{w['booking']}").json()
        assert booking["contact_id"] == maija, booking
        # Marketing activities and the per-person counts follow the person.
        assert _ids(admin, "/marketing-activities", contact_id=maija) == sorted([w["call"], w["visit"], w["kept_call"]])
        per_person = admin.get("/marketing-activities/stats", params={"group_by": "contact", **MARCH}).json()
        assert {r["key"]: r["total"] for r in per_person["rows"]} == {maija: 3}
        assert_moved(admin, "/marketing-activities", dup, maija, contact_id=dup)
        assert_moved(admin, "/marketing-activities/stats", dup, maija, contact_id=dup, **MARCH)
        assert admin.get("/marketing-activities/stats", params={"contact_id": maija, **MARCH}).json()["total"] == 3

    check()
    moved = _published(stack, w.tenant)
    assert moved == published + 3  # two activities and the order, each changed once

    # The same event again, and another event of the same merge: nothing changes.
    put_envelope(stack, merge)
    put_envelope(stack, {**merge, "id": str(uuid.uuid4())})
    # A late directory event of the merged contact does not bring its row back.
    late = _record_of(stack, w.tenant, "contact.created", dup)
    late_record = {**late["data"]["record"], "version": 99, "first_name": "late"}
    put_envelope(
        stack,
        {**late, "id": str(uuid.uuid4()), "type": "contact.updated", "data": {**late["data"], "record": late_record}},
    )
    stack.drain()
    stack.drain()
    check()
    assert _published(stack, w.tenant) == moved

    # A write naming the merged contact names the survivor (old links keep working).
    call = {"type": "call", "subject": "Old link", "start": "2026-03-08T09:00:00Z", "end": "2026-03-08T09:30:00Z"}
    assert created(admin.post("/activities", json={**call, "contact_id": dup}))["contact_id"] == maija
    logged = created(admin.post("/marketing-activities", json={"contact_id": dup, "type": "visit"}))
    assert logged["contact_id"] == maija


def test_an_account_merge_moves_activities_orders_facilities_rows_and_marketing(
    world: World, stack: LocalRuntime
) -> None:
    w, admin = world, world.admin
    keep, gone = w["keep"], w["gone"]
    record = _record_of(stack, w.tenant, "account.created", keep)["data"]["record"]
    merge = merge_envelope(w.tenant, "account", {**record, "version": int(record["version"]) + 1}, [gone])
    put_envelope(stack, merge)
    theirs = sorted([w["late_event"], w["task"]])
    assert settle(stack, lambda: _ids(admin, "/activities", account_id=keep) == theirs, attempts=40)
    published = _published(stack, w.tenant)
    put_envelope(stack, merge)  # delivered twice
    stack.drain()

    assert _ids(admin, "/activities", account_id=keep) == sorted([w["late_event"], w["task"]])
    order = admin.get(f"/contact-orders/{w['order']}").json()
    assert order["account_id"] == keep
    facilities = walk(admin, FACILITIES, limit=50, account_id=keep)
    assert [(f["id"], f["name"]) for f in facilities] == [(order["facility_id"], "Boiler room")]
    for path in (FACILITIES, "/activities", "/contact-orders", "/marketing-activities"):
        assert_moved(admin, path, gone, keep, account_id=gone)
    assert _ids(admin, "/marketing-activities", account_id=keep) == sorted([w["call"], w["visit"], w["kept_call"]])
    accounts = _rows(admin, "accounts")
    assert sorted(accounts) == [keep]
    assert accounts[keep]["latest_event"]["id"] == w["late_event"]
    contacts = _rows(admin, "contacts")
    assert contacts[w["other"]]["account_id"] == keep and contacts[w["other"]]["account_name"] == "Acme keep"
    assert _published(stack, w.tenant) == published  # the second delivery changed nothing
    # A new order naming the merged account is the survivor's, at the same facility.
    again = created(
        admin.post("/contact-orders", json={"subject": "Again", "account_id": gone, "facility_name": "Boiler room"})
    )
    assert (again["account_id"], again["facility_id"]) == (keep, order["facility_id"])
