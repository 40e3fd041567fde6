"""Merging duplicate contacts and accounts through `kontakt dev` (issue 24, items 4 and 5: the directory).

Each service's own references are proven in its `test_*_merges.py`; here the directory's part:
- a contact merge through the API: the chosen and default values, the survivor's id and number
  kept, the merged records gone from lists and search, their ids answering 301 (GET, `Location` on
  the survivor) or 410, memberships of target groups moved (one per group), the events, the audit
  trail, who may merge (a plain user: only records they may change; other tenants: unknown ids),
  bad bodies 422 naming the field;
- an account merge: the merged account's contacts move to the survivor; the tenant's policy for the
  values a merge does not choose;
- a crash of the API right after the merge's transaction (its second step never ran) and of the
  consumer after its first step: the directory's subscription finishes, and a second delivery of
  the event changes nothing; an account merge whose consumer dies after its first moved contact:
  the redelivery moves the others, each contact once (one `contact.updated` each).
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_problem,
    created,
    drain,
    envelopes,
    new_tenant,
    ok,
    poll_until,
    put_envelope,
    quick_redelivery,
    walk,
)

EVENTS_QUEUE = "kontakt-dev-directory-events"


@pytest.fixture(scope="module")
def office(session_api: Api) -> dict[str, Any]:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    user = session_api.as_(tenant, "user-1", "user")
    return {"tenant": tenant, "admin": admin, "user": user}


def contact(api: Api, **fields: Any) -> dict[str, Any]:
    return created(api.post("/contacts", json=fields))


def members(admin: Api, group_id: str) -> list[str]:
    """A hand-made group's members (its preview: every member of a small group) and its count."""
    preview = ok(admin.get(f"/target-groups/{group_id}/preview"))
    ids = sorted(c["id"] for c in preview["sample"])
    counted = preview["count"] == len(ids) == ok(admin.get(f"/target-groups/{group_id}"))["static_member_count"]
    return ids if counted else []


def test_a_contact_merge_keeps_the_survivor_moves_memberships_and_redirects_the_merged_ids(
    office: dict[str, Any], stack: LocalRuntime, session_api: Api
) -> None:
    admin, user, tenant = office["admin"], office["user"], office["tenant"]
    survivor = contact(admin, first_name="Matti", last_name="Korhonen", email="matti@example.fi")
    older = contact(admin, first_name="Matti", last_name="Korhonen", phone="+358401234567", department="Myynti")
    newer = contact(admin, first_name="Matti", last_name="Korhonen", phone="+358409999999", job_title="ceo")
    theirs = contact(user, first_name="Matti", last_name="Korhonen", email="matti.k@example.fi")
    group = created(admin.post("/target-groups", json={"name": "News", "contact_ids": [survivor["id"], older["id"]]}))
    other = created(admin.post("/target-groups", json={"name": "Events", "contact_ids": [newer["id"]]}))

    # Bad bodies: 422 naming the field, nothing changed.
    body = {"entity": "contacts", "survivor_id": survivor["id"], "merged_ids": [older["id"], newer["id"]]}
    assert_problem(admin.post("/duplicates/merge", json={**body, "merged_ids": []}), 422, "merged_ids")
    assert_problem(admin.post("/duplicates/merge", json={**body, "merged_ids": [survivor["id"]]}), 422, "merged_ids")
    assert_problem(admin.post("/duplicates/merge", json={**body, "merged_ids": ["nosuchcontact"]}), 422, "merged_ids.0")
    assert_problem(
        admin.post("/duplicates/merge", json={**body, "fields": {"email": "nosuchcontact"}}), 422, "fields.email"
    )
    assert_problem(
        admin.post("/duplicates/merge", json={**body, "fields": {"colour": older["id"]}}), 422, "fields.colour"
    )
    assert_problem(admin.post("/duplicates/merge", json={**body, "entity": "people"}), 422)
    # A user may merge only what they may change: the admin's records are visible to them (open
    # contacts module or not), never changeable; another tenant does not know the ids.
    refused = user.post("/duplicates/merge", json={**body, "survivor_id": theirs["id"]})
    assert refused.status_code in (403, 422), refused.text
    stranger = session_api.as_(new_tenant(), "admin-9", "admin")
    assert_problem(stranger.post("/duplicates/merge", json=body), 422, "survivor_id")
    assert ok(admin.get(f"/contacts/{older['id']}"))["department"] == "Myynti"

    merged = ok(admin.post("/duplicates/merge", json={**body, "fields": {"phone": older["id"]}}))
    after = merged["survivor"]
    assert (after["id"], after["number"], after["email"]) == (survivor["id"], survivor["number"], "matti@example.fi")
    assert after["phone"] == "+358401234567"  # chosen: the older record's, not the newest's
    assert after["job_title"] == "ceo" and after["department"] == "Myynti"  # the survivor had none: newest first
    assert merged["fields"] == {"phone": older["id"], "job_title": newer["id"], "department": older["id"]}
    assert ok(admin.get(f"/contacts/{survivor['id']}")) | {"version": 0} == after | {"version": 0}

    # The merged ids: 301 to the survivor on a GET (a client following it reads the survivor), 410 otherwise.
    moved = admin.get(f"/contacts/{older['id']}", allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == f"/contacts/{survivor['id']}"
    assert moved.json()["survivor_id"] == survivor["id"]
    assert admin.get(f"/contacts/{newer['id']}").json()["id"] == survivor["id"]
    gone = admin.patch(f"/contacts/{older['id']}", json={"department": "X"})
    assert gone.status_code == 410 and gone.json()["survivor_id"] == survivor["id"]
    assert admin.delete(f"/contacts/{newer['id']}").status_code == 410
    assert_problem(stranger.get(f"/contacts/{older['id']}"), 404)
    again = admin.post("/duplicates/merge", json=body)
    assert_problem(again, 422, "merged_ids.0")
    listed = {c["id"] for c in walk(admin, "/contacts", limit=50)}
    assert {older["id"], newer["id"]}.isdisjoint(listed) and survivor["id"] in listed
    assert {h["id"] for h in ok(admin.get("/search", params={"q": "Korhonen"}))["items"]} == {
        survivor["id"],
        theirs["id"],
    }

    # Memberships follow the survivor, once per group; the directory's subscription moves them.
    poll_until(lambda: members(admin, other["id"]) == [survivor["id"]])
    assert members(admin, group["id"]) == [survivor["id"]]

    events = envelopes(stack, tenant, "contact.merged")
    assert [(e["data"]["id"], e["data"]["merged_ids"]) for e in events] == [(survivor["id"], body["merged_ids"])]
    assert events[0]["data"]["record"]["phone"] == "+358401234567"
    trail = poll_until(
        lambda: [
            r
            for r in walk(admin, "/audit", limit=50, entity_type="contact", entity_id=survivor["id"])
            if r["type"] == "contact.merged"
        ]
    )
    assert trail[0]["changes"] == [{"field": "merged_ids", "old": None, "new": body["merged_ids"]}]


def test_an_account_merge_moves_its_contacts_to_the_survivor(office: dict[str, Any]) -> None:
    admin = office["admin"]
    survivor = created(admin.post("/accounts", json={"name": "Acme Oy", "business_id": "0112038-9"}))
    merged = created(admin.post("/accounts", json={"name": "ACME oy", "city": "Turku"}))
    people = [contact(admin, last_name=f"Person {n}", account_id=merged["id"]) for n in range(3)]
    result = ok(
        admin.post(
            "/duplicates/merge",
            json={"entity": "accounts", "survivor_id": survivor["id"], "merged_ids": [merged["id"]]},
        )
    )
    assert (result["survivor"]["city"], result["survivor"]["name"]) == ("Turku", "Acme Oy")  # the survivor's first

    # The tenant's policy for the fields a merge does not choose: here the newest record's value.
    rules = ok(admin.get("/duplicates/rules/accounts"))
    ok(admin.put("/duplicates/rules/accounts", json={**rules, "merge_values": "newest"}))
    third = created(admin.post("/accounts", json={"name": "Acme Finland Oy", "website": "https://acme.example"}))
    body = {"entity": "accounts", "survivor_id": survivor["id"], "merged_ids": [third["id"]]}
    newest = ok(admin.post("/duplicates/merge", json=body))["survivor"]
    assert (newest["name"], newest["city"], newest["website"]) == ("Acme Finland Oy", "Turku", "https://acme.example")
    poll_until(lambda: len(walk(admin, "/contacts", limit=50, account_id=survivor["id"])) == 3)
    assert {c["id"] for c in walk(admin, "/contacts", limit=50, account_id=survivor["id"])} == {p["id"] for p in people}
    moved = admin.get("/contacts", params={"account_id": merged["id"], "limit": 2}, allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == f"/contacts?account_id={survivor['id']}&limit=2"
    assert (
        admin.get(f"/accounts/{merged['id']}", allow_redirects=False).headers["Location"]
        == f"/accounts/{survivor['id']}"
    )


def test_a_merge_whose_api_and_consumer_crash_finishes_once_and_a_second_delivery_changes_nothing(
    office: dict[str, Any], stack: LocalRuntime
) -> None:
    admin, tenant = office["admin"], office["tenant"]
    assert stack.functions is not None
    survivor = contact(admin, first_name="Liisa", last_name="Virtanen")
    merged = [contact(admin, first_name="Liisa", last_name="Virtanen", email=f"liisa{n}@example.fi") for n in range(2)]
    group = created(admin.post("/target-groups", json={"name": "Crash", "contact_ids": [m["id"] for m in merged]}))
    body = {"entity": "contacts", "survivor_id": survivor["id"], "merged_ids": [m["id"] for m in merged]}
    api_killed = Fault("dynamodb", "TransactWriteItems", "after")  # the merge committed, its records not removed
    consumer_killed = Fault("dynamodb", "TransactWriteItems", "after")  # the first merged record removed
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("DirectoryApiFunction", faults=[api_killed]) as (api_fault,),
        stack.functions.configured("DirectoryConsumerFunction", faults=[consumer_killed]) as (consumer_fault,),
    ):
        answer = admin.post("/duplicates/merge", json=body)
        assert answer.status_code >= 500 and api_fault.fired
        poll_until(lambda: consumer_fault.fired and members(admin, group["id"]) == [survivor["id"]])
    poll_until(lambda: all(admin.get(f"/contacts/{m['id']}", allow_redirects=False).status_code == 301 for m in merged))
    listed = [c["id"] for c in walk(admin, "/contacts", limit=50, name="Virtanen")]
    assert listed == [survivor["id"]]
    assert ok(admin.get(f"/contacts/{survivor['id']}"))["email"] in ("liisa0@example.fi", "liisa1@example.fi")

    event = envelopes(stack, tenant, "contact.merged")[-1]
    put_envelope(stack, event)  # delivered again: nothing moves twice, nothing comes back
    drain(stack)
    assert members(admin, group["id"]) == [survivor["id"]]
    assert [c["id"] for c in walk(admin, "/contacts", limit=50, name="Virtanen")] == [survivor["id"]]
    mine = [e for e in envelopes(stack, tenant, "contact.merged") if e["data"]["id"] == survivor["id"]]
    assert [e["id"] for e in mine] == [event["id"]] * 2  # the directory's and the one put again

    # An account merge: the consumer dies after its first moved contact (the API removed the merged
    # account already, so that is its first write); the redelivery moves the others, each once.
    kept = created(admin.post("/accounts", json={"name": "Crash Oy"}))
    gone = created(admin.post("/accounts", json={"name": "Crash Ab"}))
    people = sorted(contact(admin, last_name=f"Crash {n}", account_id=gone["id"])["id"] for n in range(2))
    drain(stack)  # nothing else in flight: the kill is the merge's
    first_moved = Fault("dynamodb", "TransactWriteItems", "after")
    body = {"entity": "accounts", "survivor_id": kept["id"], "merged_ids": [gone["id"]]}
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("DirectoryConsumerFunction", faults=[first_moved]) as (moved_one,),
    ):
        ok(admin.post("/duplicates/merge", json=body))
        poll_until(lambda: moved_one.fired and len(walk(admin, "/contacts", limit=50, account_id=kept["id"])) == 2)
        assert moved_one.fired  # (its marker goes with the block)
    [merge] = [e for e in envelopes(stack, tenant, "account.merged") if e["data"]["id"] == kept["id"]]
    put_envelope(stack, merge)  # and delivered again
    drain(stack)
    assert sorted(c["id"] for c in walk(admin, "/contacts", limit=50, account_id=kept["id"])) == people
    updates = [e["data"] for e in envelopes(stack, tenant, "contact.updated") if e["data"]["id"] in people]
    assert sorted(u["id"] for u in updates if "account_id" in u["changed"]) == people  # each moved once


def test_a_merge_through_the_api_reaches_every_service_and_consent_holds_for_the_survivor(
    office: dict[str, Any], stack: LocalRuntime
) -> None:
    """The real events of two merges (a contact's and an account's), as the directory publishes them,
    move the references of the other services; each service's own file proves the rest."""
    admin = office["admin"]
    kept = created(admin.post("/accounts", json={"name": "Kauppa Oy"}))
    gone = created(admin.post("/accounts", json={"name": "Kauppa oy"}))
    anna = contact(admin, first_name="Anna", last_name="Lind", email="anna@example.fi", account_id=kept["id"])
    dup = contact(admin, first_name="Anna", last_name="Lind", email="anna.lind@example.fi", account_id=gone["id"])
    call = {"type": "call", "subject": "Offer", "start": "2026-03-08T09:00:00Z", "end": "2026-03-08T09:30:00Z"}
    activity = created(admin.post("/activities", json={**call, "contact_id": dup["id"]}))
    opt_out = {"address": "anna.lind@example.fi", "contact_id": dup["id"]}
    assert admin.post("/email/list-types/marketing/opt-outs", json=opt_out).status_code == 201
    line = {"description": "Support", "quantity": "1", "unit_price": "50.00", "tax_class": "standard"}
    order_body = {"account_id": gone["id"], "interval": "monthly", "start_date": "2026-01-01", "lines": [line]}
    order = created(admin.post("/sales-orders", json=order_body))

    ok(
        admin.post(
            "/duplicates/merge", json={"entity": "contacts", "survivor_id": anna["id"], "merged_ids": [dup["id"]]}
        )
    )
    ok(
        admin.post(
            "/duplicates/merge", json={"entity": "accounts", "survivor_id": kept["id"], "merged_ids": [gone["id"]]}
        )
    )

    poll_until(lambda: ok(admin.get(f"/activities/{activity['id']}"))["contact_id"] == anna["id"])
    poll_until(lambda: ok(admin.get(f"/sales-orders/{order['id']}"))["account_id"] == kept["id"])
    marketing = poll_until(
        lambda: (
            {o["address"] for o in walk(admin, "/email/list-types/marketing/opt-outs", limit=100)}
            >= {"anna@example.fi", "anna.lind@example.fi"}
        )
    )
    assert marketing  # the merged contact's opt-out holds for the survivor's own address too
    drain(stack)
    assert ok(admin.get(f"/contacts/{anna['id']}"))["account_id"] == kept["id"]
