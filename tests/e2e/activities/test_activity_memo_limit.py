"""An activity's memos fit the item and its events: DynamoDB holds 400 KB an item and EventBridge
256 KB an event, and an activity travels whole in `activity.updated`."""

from __future__ import annotations

from typing import Any

from services.activities.activities import MEMO_BYTES
from tests.e2e.helpers import assert_problem, created, new_tenant, ok

TASK = {"type": "task", "subject": "Follow up", "due": "2030-03-02T09:00:00Z"}
LONGEST = "\U0001f600" * 10_000  # the longest memo, 4 bytes a character: 40,000 bytes


def test_memos_beyond_the_activitys_room_are_refused_and_it_stays_readable(api: Any) -> None:
    user = api.as_(new_tenant(), "u1", "user")
    activity = created(user.post("/activities", json=TASK))
    fit = MEMO_BYTES // len(LONGEST.encode())
    for _ in range(fit):
        ok(user.post(f"/activities/{activity['id']}/memos", json={"text": LONGEST}), 201)
    problem = assert_problem(user.post(f"/activities/{activity['id']}/memos", json={"text": LONGEST}), 409)
    assert "memos are full" in problem["detail"]
    read = ok(user.get(f"/activities/{activity['id']}"))
    assert len(read["memos"]) == fit
    ok(user.post(f"/activities/{activity['id']}/memos", json={"text": "a short one still fits"}), 201)
