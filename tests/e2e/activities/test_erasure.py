"""GDPR erasure reaches the activities service: the directory erases a contact, activities forget them."""

from __future__ import annotations

import uuid
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.activities.test_marketing import sent_envelope
from tests.e2e.helpers import assert_problem, created, envelopes, new_tenant, put_envelope, settle

START, END = "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def _updates(stack: LocalRuntime, tenant: str) -> list[dict[str, Any]]:
    return [e["data"]["activity"] for e in envelopes(stack, tenant, "activity.updated")]


def test_erasing_a_contact_erases_them_from_activities_and_marketing(api: Any, stack: LocalRuntime) -> None:
    tenant = new_tenant()
    admin, seller = api.as_(tenant, "admin-1", "admin"), api.as_(tenant, "u1", "user")
    account = created(admin.post("/accounts", json={"name": "Acme"}))
    maija = created(admin.post("/contacts", json={"first_name": "Maija", "account_id": account["id"]}))
    other = created(admin.post("/contacts", json={"first_name": "Other"}))
    person, kept = maija["id"], other["id"]

    meeting = created(
        seller.post(
            "/activities",
            json={
                "type": "meeting",
                "subject": "Renewal",
                "description": "Maija prefers calls after 4 pm",
                "location": "Maija's home, Main St 1",
                "start": START,
                "end": END,
                "account_id": account["id"],
                "contact_id": person,
            },
        )
    )
    created(seller.post(f"/activities/{meeting['id']}/memos", json={"text": "Her daughter is ill"}))
    task = created(
        seller.post("/activities", json={"type": "task", "subject": "Send offer", "due": END, "contact_id": person})
    )
    untouched = created(
        seller.post(
            "/activities",
            json={"type": "task", "subject": "Call", "due": END, "contact_id": kept, "description": "Keep me"},
        )
    )
    for kind, at in (("outgoing_call", "2026-03-02T09:00:00Z"), ("visit", "2026-03-03T09:00:00Z")):
        seller.post("/marketing-activities", json={"contact_id": person, "type": kind, "at": at, "note": "Maija"})
    kept_call = created(
        seller.post("/marketing-activities", json={"contact_id": kept, "type": "outgoing_call", "at": START})
    )
    put_envelope(stack, sent_envelope(tenant, "email.sent", "M1", contact_id=person, sent_by="u1"))
    settle(stack, lambda: len(seller.get("/marketing-activities", params={"contact_id": person}).json()["items"]) == 3)
    updates_before = len(_updates(stack, tenant))

    erased = admin.post(f"/contacts/{person}/erase")
    assert erased.status_code == 200, erased.text

    def done() -> bool:
        linked = seller.get("/activities", params={"contact_id": person}).json()["items"]
        marketing = seller.get("/marketing-activities", params={"contact_id": person}).json()["items"]
        return not linked and not marketing and len(_updates(stack, tenant)) >= updates_before + 2

    assert settle(stack, done)

    # Events and tasks stay, without the person: no link, description, location or memos.
    for activity_id, subject in ((meeting["id"], "Renewal"), (task["id"], "Send offer")):
        got = seller.get(f"/activities/{activity_id}").json()
        assert got["subject"] == subject and got["contact_id"] is None, got
        assert got["description"] is None and got["location"] is None and got["memos"] == [], got
    assert seller.get(f"/activities/{meeting['id']}").json()["account_id"] == account["id"]
    assert seller.get("/activities", params={"account_id": account["id"]}).json()["items"][0]["id"] == meeting["id"]
    # ... and each change was published like any change, without the personal data.
    published = _updates(stack, tenant)[updates_before:]
    assert sorted(a["id"] for a in published) == sorted([meeting["id"], task["id"]])
    assert "maija" not in str(published).lower() and "daughter" not in str(published).lower()
    assert all(a["contact_id"] is None for a in published)

    # Marketing activities on the person are gone, with the person's row in the statistics;
    # the counts per type and per user stay (they do not say with whom).
    assert seller.get("/marketing-activities", params={"contact_id": person}).json()["items"] == []
    by_contact = seller.get("/marketing-activities/stats", params={"group_by": "contact", **MARCH}).json()
    assert [r["key"] for r in by_contact["rows"]] == [kept]
    by_type = seller.get("/marketing-activities/stats", params=MARCH).json()
    assert by_type["counts"] == {"email": 1, "outgoing_call": 2, "visit": 1}
    by_user = seller.get("/marketing-activities/stats", params={"group_by": "user", **MARCH}).json()
    assert {r["key"]: r["total"] for r in by_user["rows"]} == {"u1": 4}
    assert seller.get("/marketing-activities/stats", params={"contact_id": person, **MARCH}).json()["total"] == 0

    # What is not the person's is untouched.
    assert seller.get(f"/activities/{untouched['id']}").json()["description"] == "Keep me"
    assert seller.get(f"/marketing-activities/{kept_call['id']}").status_code == 200

    # Nothing new is recorded about the erased person.
    again = {"contact_id": person, "type": "visit"}
    assert_problem(seller.post("/marketing-activities", json=again), 422, "contact_id")
    put_envelope(stack, sent_envelope(tenant, "email.sent", "M2", contact_id=person))

    # contact.erased delivered again (the same event, and a new event about the same contact).
    event = envelopes(stack, tenant, "contact.erased")[0]
    put_envelope(stack, event)
    put_envelope(stack, {**event, "id": str(uuid.uuid4())})
    stack.drain()
    stack.drain()
    assert len(_updates(stack, tenant)) == updates_before + 2  # nothing changed twice
    assert seller.get("/marketing-activities", params={"contact_id": person}).json()["items"] == []
    assert seller.get("/marketing-activities/stats", params=MARCH).json()["counts"] == by_type["counts"]
    for activity in published:
        assert seller.get(f"/activities/{activity['id']}").json()["version"] == activity["version"]
