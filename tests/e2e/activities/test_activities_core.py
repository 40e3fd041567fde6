"""Events and tasks through the gateway: create, read, change, complete, reopen, delete."""

from __future__ import annotations

from typing import Any

import requests
from ulid import ULID

from tests.e2e.helpers import assert_problem, envelopes, new_tenant, settle, upload_file

# Contact and account ids the directory has not announced: new ULIDs, taken on trust (an activity
# may name a record made just now: tests/e2e/activities/test_activity_references.py).
A1, C1 = str(ULID()), str(ULID())
START = "2026-12-01T09:00:00Z"
END = "2026-12-01T10:00:00Z"


def event_body(**extra: Any) -> dict[str, Any]:
    return {"type": "meeting", "subject": "Quarterly review", "start": START, "end": END, **extra}


def test_an_event_has_start_and_end_and_a_task_a_due_date(api: Any) -> None:
    client = api.as_(new_tenant(), "u1", "user")
    created = client.post("/activities", json=event_body())
    assert created.status_code == 201, created.text
    event = created.json()
    assert (event["kind"], event["owner_id"], event["status"]) == ("event", "u1", "open")

    task = client.post("/activities", json={"type": "task", "subject": "Send offer", "due": END}).json()
    assert task["kind"] == "task"

    no_end = client.post("/activities", json={"type": "meeting", "subject": "x", "start": START})
    assert_problem(no_end, 422, "end")
    task_with_start = client.post("/activities", json={"type": "task", "subject": "x", "start": START, "due": END})
    assert_problem(task_with_start, 422, "start")
    backwards = client.post("/activities", json=event_body(start=END, end=START))
    assert_problem(backwards, 422, "end")
    unknown_type = client.post("/activities", json=event_body(type="nope"))
    assert_problem(unknown_type, 422, "type")


def test_complete_reopen_change_and_delete_publish_events(api: Any, stack: Any) -> None:
    tenant = new_tenant()
    client = api.as_(tenant, "u1", "user")
    activity = client.post("/activities", json=event_body(account_id=A1, contact_id=C1)).json()
    done = client.post(f"/activities/{activity['id']}/complete").json()
    assert done["status"] == "completed" and done["completed_at"]
    again = client.post(f"/activities/{activity['id']}/complete").json()
    assert again["version"] == done["version"]  # completing twice changes nothing
    reopened = client.post(f"/activities/{activity['id']}/reopen").json()
    assert reopened["status"] == "open" and reopened["completed_at"] is None
    changed = client.patch(f"/activities/{activity['id']}", json={"subject": "Renamed"}).json()
    assert changed["subject"] == "Renamed" and changed["sequence"] > activity["sequence"]
    listed = client.get("/activities", params={"account_id": A1}).json()["items"]
    assert [a["id"] for a in listed] == [activity["id"]]
    assert client.delete(f"/activities/{activity['id']}").status_code == 204
    assert client.get(f"/activities/{activity['id']}").status_code == 404

    types = settle(
        stack,
        lambda: (
            found
            if len(found := [e["type"] for e in envelopes(stack, tenant) if e["type"].startswith("activity.")]) >= 5
            else None
        ),
    )
    assert types == [
        "activity.created",
        "activity.completed",
        "activity.updated",
        "activity.updated",
        "activity.deleted",
    ]


def test_only_the_responsible_user_or_a_manager_changes_an_activity(api: Any) -> None:
    tenant = new_tenant()
    mine = api.as_(tenant, "u1", "user").post("/activities", json=event_body()).json()
    other = api.as_(tenant, "u2", "user")
    assert other.get(f"/activities/{mine['id']}").status_code == 200  # activities are shared
    assert other.patch(f"/activities/{mine['id']}", json={"subject": "x"}).status_code == 403
    manager = api.as_(tenant, "m1", "manager")
    assert manager.patch(f"/activities/{mine['id']}", json={"subject": "ok"}).status_code == 200
    assert_problem(other.post("/activities", json=event_body(owner_id="u1")), 422, "owner_id")


def test_tenants_do_not_see_each_others_activities(api: Any) -> None:
    mine = api.as_(new_tenant(), "u1", "admin").post("/activities", json=event_body()).json()
    stranger = api.as_(new_tenant(), "u1", "admin")
    assert stranger.get(f"/activities/{mine['id']}").status_code == 404


def test_memos_are_stamped_and_attachments_go_through_s3(api: Any) -> None:
    client = api.as_(new_tenant(), "u1", "user")
    activity = client.post("/activities", json=event_body()).json()
    with_memo = client.post(f"/activities/{activity['id']}/memos", json={"text": "Discussed pricing"}).json()
    memo = with_memo["memos"][0]
    assert (memo["text"], memo["author_id"]) == ("Discussed pricing", "u1") and memo["created_at"]

    too_big = client.post(f"/activities/{activity['id']}/attachments", json={"name": "a.pdf", "size": 26 * 1024 * 1024})
    assert_problem(too_big, 422, "size")
    started = client.post(
        f"/activities/{activity['id']}/attachments",
        json={"name": "offer.pdf", "content_type": "application/pdf", "size": 11},
    )
    assert started.status_code == 201, started.text
    upload = started.json()
    attachment_id = upload["attachment"]["id"]
    early = client.post(f"/activities/{activity['id']}/attachments/{attachment_id}/complete")
    assert_problem(early, 409)
    upload_file(upload, "offer.pdf", b"hello world")
    done = client.post(f"/activities/{activity['id']}/attachments/{attachment_id}/complete")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["size"]) == ("uploaded", 11)
    link = client.get(f"/activities/{activity['id']}/attachments/{attachment_id}").json()["url"]
    assert requests.get(link, timeout=30).content == b"hello world"
    assert client.delete(f"/activities/{activity['id']}/attachments/{attachment_id}").status_code == 204
    assert client.get(f"/activities/{activity['id']}").json()["attachments"] == []
