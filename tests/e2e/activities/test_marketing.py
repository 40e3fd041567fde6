"""Marketing activities [004] through the gateway and the bus: by hand, from sent messages, statistics."""

from __future__ import annotations

import uuid
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, new_tenant, put_envelope, settle, walk


def sent_envelope(tenant: str, event_type: str, message_id: str, **data: Any) -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    return {
        "id": event_id,
        "type": event_type,
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": "2026-03-04T10:00:00Z",
        "actor": {"type": "service", "id": event_type.split(".")[0]},
        "correlation_id": event_id,
        "data": {
            "message_id": message_id,
            "to": "someone@example.fi",
            "subject": "Spring offer",
            "sent_at": "2026-03-04T10:00:00Z",
            **data,
        },
    }


def test_create_show_list_and_delete_by_hand(api: Any) -> None:
    tenant = new_tenant()
    user = api.as_(tenant, "u1", "user")
    created = user.post(
        "/marketing-activities",
        json={"contact_id": "C1", "type": "outgoing_call", "at": "2026-03-01T09:00:00Z", "subject": "Offer"},
    )
    assert created.status_code == 201, created.text
    call = created.json()
    assert (call["user_id"], call["created_by"], call["source"], call["source_id"]) == ("u1", "u1", "manual", None)
    assert call["contact_id"] == "C1" and call["account_id"] is None and call["subject"] == "Offer"
    visit = user.post(
        "/marketing-activities",
        json={"contact_id": "C1", "account_id": "A1", "type": "visit", "at": "2026-03-03T09:00:00Z", "note": "Met"},
    ).json()
    letter = user.post(
        "/marketing-activities", json={"contact_id": "C1", "type": "letter_in", "at": "2026-03-02T09:00:00Z"}
    ).json()
    user.post("/marketing-activities", json={"contact_id": "C2", "type": "visit"})
    now = user.post("/marketing-activities", json={"contact_id": "C3", "type": "sms"}).json()
    assert now["at"]  # now, when left out

    # The person card: newest first, in pages.
    listed = walk(user, "/marketing-activities", limit=1, contact_id="C1")
    assert [a["id"] for a in listed] == [visit["id"], letter["id"], call["id"]]
    assert [a["id"] for a in walk(user, "/marketing-activities", limit=2, account_id="A1")] == [visit["id"]]
    assert len(walk(user, "/marketing-activities", limit=50)) == 5
    assert user.get(f"/marketing-activities/{visit['id']}").json() == visit

    # Bad input names the field and changes nothing.
    assert_problem(user.post("/marketing-activities", json={"type": "visit"}), 422, "contact_id")
    assert_problem(user.post("/marketing-activities", json={"contact_id": "C1", "type": "fax"}), 422, "type")
    assert_problem(user.post("/marketing-activities", json={"contact_id": "C1", "type": "visit", "x": 1}), 422, "x")
    not_yours = {"contact_id": "C1", "type": "visit", "user_id": "u2"}
    assert_problem(user.post("/marketing-activities", json=not_yours), 422, "user_id")
    bad_time = {"contact_id": "C1", "type": "visit", "at": "2026-03-01T09:00:00"}
    assert_problem(user.post("/marketing-activities", json=bad_time), 422, "at")
    assert len(walk(user, "/marketing-activities", limit=50, contact_id="C1")) == 3
    manager = api.as_(tenant, "m1", "manager")
    logged_for = manager.post("/marketing-activities", json=not_yours)
    assert logged_for.status_code == 201 and logged_for.json()["user_id"] == "u2"

    # Who may delete: the user who made the contact, its creator, a manager.
    other = api.as_(tenant, "u3", "user")
    assert_problem(other.delete(f"/marketing-activities/{call['id']}"), 403)
    assert user.delete(f"/marketing-activities/{call['id']}").status_code == 204
    assert_problem(user.get(f"/marketing-activities/{call['id']}"), 404)
    assert_problem(user.delete(f"/marketing-activities/{call['id']}"), 404)
    assert [a["id"] for a in walk(user, "/marketing-activities", limit=50, contact_id="C1")] == [
        logged_for.json()["id"],
        visit["id"],
        letter["id"],
    ]

    # Tenants never see each other's.
    stranger = api.as_(new_tenant(), "u1", "admin")
    assert_problem(stranger.get(f"/marketing-activities/{visit['id']}"), 404)
    assert_problem(stranger.delete(f"/marketing-activities/{visit['id']}"), 404)
    assert stranger.get("/marketing-activities", params={"contact_id": "C1"}).json()["items"] == []
    stats = stranger.get("/marketing-activities/stats", params={"from": "2026-03-01", "to": "2026-03-31"}).json()
    assert stats["total"] == 0


def _stats(client: Any, **params: Any) -> dict[str, Any]:
    response = client.get("/marketing-activities/stats", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _rows(stats: dict[str, Any]) -> dict[str | None, dict[str, int]]:
    return {row["key"]: row["counts"] for row in stats["rows"]}


def test_statistics_per_person_per_user_per_type_and_in_all(api: Any) -> None:
    tenant = new_tenant()
    u1, u2 = api.as_(tenant, "u1", "user"), api.as_(tenant, "u2", "user")
    logged = [
        (u1, "C1", "outgoing_call", "2026-03-01T08:00:00Z"),
        (u1, "C1", "outgoing_call", "2026-03-01T23:59:59Z"),
        (u1, "C2", "visit", "2026-03-02T10:00:00Z"),
        (u2, "C1", "letter_out", "2026-03-02T10:00:00Z"),
        (u2, "C2", "outgoing_call", "2026-03-31T10:00:00Z"),
        (u2, "C2", "visit", "2026-04-01T00:00:00Z"),  # outside March
        (u1, "C1", "visit", "2026-02-28T23:59:59Z"),  # outside March
    ]
    ids = []
    for client, contact, kind, at in logged:
        response = client.post("/marketing-activities", json={"contact_id": contact, "type": kind, "at": at})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    march = {"from": "2026-03-01", "to": "2026-03-31"}

    by_type = _stats(u1, **march)  # group_by=type is the default
    assert by_type["group_by"] == "type" and (by_type["from"], by_type["to"]) == ("2026-03-01", "2026-03-31")
    assert _rows(by_type) == {
        "outgoing_call": {"outgoing_call": 3},
        "visit": {"visit": 1},
        "letter_out": {"letter_out": 1},
    }
    assert [r["key"] for r in by_type["rows"]] == ["outgoing_call", "letter_out", "visit"]  # largest first
    assert by_type["counts"] == {"letter_out": 1, "outgoing_call": 3, "visit": 1} and by_type["total"] == 5

    by_user = _stats(u1, group_by="user", **march)
    assert _rows(by_user) == {"u1": {"outgoing_call": 2, "visit": 1}, "u2": {"letter_out": 1, "outgoing_call": 1}}
    by_contact = _stats(u1, group_by="contact", **march)
    assert _rows(by_contact) == {
        "C1": {"letter_out": 1, "outgoing_call": 2},
        "C2": {"outgoing_call": 1, "visit": 1},
    }
    assert by_contact["total"] == 5 and by_contact["rows_total"] == 2
    assert [r["key"] for r in _stats(u1, group_by="contact", limit=1, **march)["rows"]] == ["C1"]

    one_day = _stats(u1, **{"from": "2026-03-01", "to": "2026-03-01"})
    assert one_day["counts"] == {"outgoing_call": 2}
    person = _stats(u1, group_by="type", contact_id="C1", **march)  # the person card's statistics
    assert person["contact_id"] == "C1" and person["counts"] == {"letter_out": 1, "outgoing_call": 2}
    assert _rows(_stats(u1, group_by="user", contact_id="C2", **march)) == {
        "u1": {"visit": 1},
        "u2": {"outgoing_call": 1},
    }

    # Deleting by hand takes the activity out of every count.
    assert u1.delete(f"/marketing-activities/{ids[0]}").status_code == 204
    assert _stats(u1, **march)["counts"]["outgoing_call"] == 2
    assert _rows(_stats(u1, group_by="user", **march))["u1"] == {"outgoing_call": 1, "visit": 1}
    assert _rows(_stats(u1, group_by="contact", **march))["C1"] == {"letter_out": 1, "outgoing_call": 1}

    # Bad ranges name the parameter.
    assert_problem(
        u1.get("/marketing-activities/stats", params={"from": "2026-03-02", "to": "2026-03-01"}), 422, "query.to"
    )
    assert_problem(
        u1.get("/marketing-activities/stats", params={"from": "2025-01-01", "to": "2026-03-01"}), 422, "query.to"
    )
    assert_problem(u1.get("/marketing-activities/stats", params={"to": "2026-03-01"}), 422, "query.from")
    bad_group = {"group_by": "month", **march}
    assert_problem(u1.get("/marketing-activities/stats", params=bad_group), 422, "query.group_by")
    assert_problem(
        u1.get("/marketing-activities/stats", params={"from": "March", "to": "2026-03-01"}), 422, "query.from"
    )


def _from_messages(client: Any, contact: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/marketing-activities", params={"contact_id": contact}).json()["items"]
    return items


def test_sent_emails_and_sms_become_marketing_activities_once(api: Any, stack: LocalRuntime) -> None:
    tenant = new_tenant()
    user = api.as_(tenant, "u1", "user")
    email = sent_envelope(tenant, "email.sent", "M1", contact_id="C1", account_id="A1", campaign_id="K1")
    put_envelope(stack, email)
    put_envelope(stack, email)  # the same event delivered twice
    again = sent_envelope(tenant, "email.sent", "M1", contact_id="C1")  # a new event about the same message
    put_envelope(stack, again)
    sms = sent_envelope(tenant, "sms.sent", "M1", contact_id="C1", sent_by="u7", subject="Hi " * 100)
    put_envelope(stack, sms)
    put_envelope(stack, sent_envelope(tenant, "email.sent", "M2"))  # to no contact: nothing to record
    put_envelope(stack, sent_envelope(new_tenant(), "email.sent", "M3", contact_id="C1"))  # another tenant's

    found = settle(stack, lambda: items if len(items := _from_messages(user, "C1")) >= 2 else None)
    stack.drain()
    found = _from_messages(user, "C1")
    assert sorted(a["type"] for a in found) == ["email", "sms"], found
    by_type = {a["type"]: a for a in found}
    mail, text = by_type["email"], by_type["sms"]
    assert (mail["source"], mail["source_id"], mail["campaign_id"]) == ("email", "M1", "K1")
    assert (mail["account_id"], mail["user_id"], mail["subject"]) == ("A1", None, "Spring offer")
    assert mail["at"].startswith("2026-03-04T10:00:00") and mail["created_by"] == "service:activities"
    assert (text["source"], text["user_id"], len(text["subject"])) == ("sms", "u7", 200)
    assert user.get("/marketing-activities", params={"account_id": "A1"}).json()["items"] == [mail]
    assert len(walk(user, "/marketing-activities", limit=50)) == 2

    stats = _stats(user, **{"from": "2026-03-04", "to": "2026-03-04"})
    assert stats["counts"] == {"email": 1, "sms": 1}
    assert _rows(_stats(user, group_by="user", **{"from": "2026-03-04", "to": "2026-03-04"})) == {
        "u7": {"sms": 1},
        None: {"email": 1},
    }
