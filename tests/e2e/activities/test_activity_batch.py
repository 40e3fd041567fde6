"""POST /activities/batch (up to 100 creates and changes, one transaction each, a result per item)
and GET /activities?ids= (a batch read: what the caller may not see or what is not there is left out)."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import assert_problem, created, new_tenant, ok

CALL = {"type": "call", "subject": "Call", "start": "2030-03-01T09:00:00Z", "end": "2030-03-01T09:15:00Z"}
TASK = {"type": "task", "subject": "Send the offer", "due": "2030-03-02T09:00:00+02:00"}


def test_a_batch_answers_each_item_and_a_refused_item_leaves_the_others_done(api: Any) -> None:
    tenant = new_tenant()
    user, other = api.as_(tenant, "u1", "user"), api.as_(tenant, "u2", "user")
    mine = created(user.post("/activities", json=CALL))
    theirs = created(other.post("/activities", json=TASK))
    items = [
        TASK,
        {**CALL, "type": "fax"},  # no such activity type
        {"id": mine["id"], "subject": "Call back", "status": "completed"},
        {"id": theirs["id"], "subject": "Mine now"},  # not the caller's to change
        {"id": "01NOSUCHACTIVITY000000000", "subject": "x"},
        {"type": "task", "due": "2030-03-02T09:00:00Z"},  # no subject: this item alone is refused
        {"id": mine["id"], "subject": "Moved", "colour": "red"},  # a field updates do not take
        {**TASK, "subject": "Last"},
    ]
    results = ok(user.post("/activities/batch", json={"items": items}))["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, 201), (1, 422), (2, 200), (3, 403), (4, 404), (5, 422), (6, 422), (7, 201)
    ]  # fmt: skip
    assert results[0]["record"]["due"] == "2030-03-02T07:00:00Z" and results[0]["problem"] is None
    assert results[0]["id"] == results[0]["record"]["id"]
    refused = results[1]["problem"]
    assert refused["status"] == 422 and [e["field"] for e in refused["errors"]] == ["type"]
    assert results[1]["record"] is None
    assert results[2]["record"]["subject"] == "Call back" and results[2]["record"]["status"] == "completed"
    assert (results[3]["problem"]["code"], results[4]["problem"]["code"]) == ("forbidden", "not_found")
    assert [e["field"] for e in results[5]["problem"]["errors"]] == ["subject"]
    assert [e["field"] for e in results[6]["problem"]["errors"]] == ["colour"]
    # what was done is stored, what was refused is not
    assert ok(user.get(f"/activities/{mine['id']}"))["subject"] == "Call back"
    assert ok(user.get(f"/activities/{theirs['id']}"))["subject"] == TASK["subject"]
    subjects = sorted(a["subject"] for a in ok(user.get("/activities", params={"owner_id": "u1"}))["items"])
    assert subjects == ["Call back", "Last", "Send the offer"]


def test_a_batch_that_is_not_one_is_refused_whole(api: Any) -> None:
    user = api.as_(new_tenant(), "u1", "user")
    assert_problem(user.post("/activities/batch", json={"items": []}), 422, "items")
    too_many = [TASK] * 101
    assert_problem(user.post("/activities/batch", json={"items": too_many}), 422, "items")
    assert_problem(user.post("/activities/batch", json={"items": [TASK], "extra": 1}), 422, "extra")
    assert_problem(user.post("/activities/batch", json=[TASK]), 422, "body")
    assert ok(user.get("/activities"))["items"] == []  # nothing of a refused batch is done


def test_ids_read_the_activities_asked_for_in_that_order(api: Any) -> None:
    tenant = new_tenant()
    user = api.as_(tenant, "u1", "user")
    made = [created(user.post("/activities", json={**TASK, "subject": f"Task {i}"}))["id"] for i in range(3)]
    elsewhere = created(api.as_(new_tenant(), "u1", "user").post("/activities", json=TASK))["id"]
    asked = [made[2], "01NOSUCHACTIVITY000000000", made[0], elsewhere, made[2]]
    page = ok(user.get("/activities", params={"ids": ",".join(asked)}))
    assert [a["id"] for a in page["items"]] == [made[2], made[0]] and page["next_cursor"] is None
    repeated = ok(user.get("/activities", params=[("ids", made[1]), ("ids", made[0])]))
    assert [a["subject"] for a in repeated["items"]] == ["Task 1", "Task 0"]
    assert_problem(user.get("/activities", params={"ids": ",".join(["x"] * 101)}), 422, "query.ids")
    assert_problem(user.get("/activities", params={"ids": "not an id"}), 422)
    assert_problem(user.get("/activities", params={"ids": made[0], "contact_id": made[1]}), 400, "query.contact_id")
