"""SMS sends to a target group through `kontakt dev` (issue 19 item 3a): the directory's audience
pages become one message per number; invalid numbers, landlines and opted-out numbers are reported
on their recipient, not sent; the whole send's credits are reserved at once on the last page (a
short balance refuses it whole); a page delivered twice, or a consumer killed between reserving
and queueing, sends nothing twice; scheduled sends go out when their schedule fires, or never once
cancelled; another tenant's group or send is nobody's: a send to another tenant's group, an
unknown or a deleted one is refused at once (422 naming `target_group_id`), one to a group created
a moment ago waits for the group's event (services/sms/target_groups.py).

The consumer's crash is a fault the local runtime injects at its SendMessageBatch call
(infra/faults.py), as tests/e2e/sms/test_sms_receipts.py kills the sender.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from infra.sms_emulation import sent_messages
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_problem,
    created,
    drain,
    envelopes,
    new_tenant,
    ok,
    put_envelope,
    put_stored,
    settle,
    stored_data,
    walk,
)

pytestmark = pytest.mark.failed_deliveries  # the killed consumer's delivery is redelivered on purpose

TABLE = "kontakt-dev-sms"
EVENTS_QUEUE = "kontakt-dev-sms-events"
TEXT = "Hei {{ contact.first_name }}! Kevätale alkaa."
SENT = ("sent", "delivered")


@pytest.fixture(scope="module", autouse=True)
def quick_redelivery(stack: LocalRuntime) -> Iterator[None]:
    """A crashed consumer's page comes back in a second, not minutes."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    yield
    sqs.set_queue_attributes(QueueUrl=url, Attributes=before["Attributes"])


def shop(api: Api, credits: int) -> tuple[str, Api]:
    """A tenant with SMS active and `credits`, and its admin."""
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    assert admin.patch("/sms/settings", json={"active": True}).status_code == 200
    if credits:
        assert admin.post("/sms/credits", json={"credits": credits}).status_code == 201
    return tenant, admin


def group(admin: Api, people: dict[str, dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """A target group of contacts made from `people` (name -> fields); its id and the contacts' ids."""
    ids = {
        name: created(admin.post("/contacts", json={"first_name": name.title(), **f}))["id"]
        for name, f in people.items()
    }
    found = created(admin.post("/target-groups", json={"name": "Kevät", "contact_ids": list(ids.values())}))
    return str(found["id"]), ids


def start(admin: Api, group_id: str, **fields: Any) -> dict[str, Any]:
    answer = admin.post("/sms/sends", json={"target_group_id": group_id, "text": TEXT, **fields})
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def settled(stack: LocalRuntime, admin: Api, send_id: str, ready: Any) -> dict[str, Any]:
    found = settle(stack, lambda: (s := ok(admin.get(f"/sms/sends/{send_id}"))) and ready(s) and s, busy_ok=True)
    assert found, admin.get(f"/sms/sends/{send_id}").json()
    return dict(found)


def at_provider(stack: LocalRuntime, tenant: str) -> list[str]:
    """The message ids of the tenant's SMS the provider accepted, one entry per call."""
    return [m["Context"]["message_id"] for m in sent_messages(stack.sms_dir) if m["Context"].get("tenant_id") == tenant]


def messages_of(admin: Api, send_id: str, **params: Any) -> dict[str, dict[str, Any]]:
    return {m["contact_id"]: m for m in walk(admin, f"/sms/sends/{send_id}/messages", limit=50, **params)}


def reservations(admin: Api, send_id: str) -> list[int]:
    return [e["credits"] for e in walk(admin, "/sms/ledger", limit=200) if e.get("send_id") == send_id]


def done(send: dict[str, Any]) -> bool:
    stats = send["stats"]
    return send["status"] == "sent" and stats["queued"] == 0 and stats["sent"] + stats["delivered"] == 2


def test_a_send_reaches_each_number_once_and_reports_the_others(api: Api, stack: LocalRuntime) -> None:
    tenant, admin = shop(api, 10)
    group_id, ids = group(
        admin,
        {
            "anna": {"mobile": "040 111 2233"},
            "bert": {"mobile": "+358 40 111 2233"},  # anna's number: one message
            "cara": {"mobile": "12345"},  # invalid
            "dora": {"mobile": "09 1234567"},  # a landline
            "eero": {"mobile": "040 333 4455"},  # opted out
            "fred": {},  # no number
            "gus": {"mobile": "040 555 6677"},
        },
    )
    put_stored(stack, TABLE, tenant, "opt_out", "+358403334455", {"number": "+358403334455"})

    send = start(admin, group_id)
    assert send["status"] == "resolving" and send["number_field"] == "mobile"
    final = settled(stack, admin, send["id"], done)
    stats = final["stats"]
    assert (stats["recipients"], stats["invalid_number"], stats["opted_out"], stats["skipped"]) == (6, 3, 1, 0), stats
    assert final["credits"] == 2

    found = messages_of(admin, send["id"])
    statuses = {name: found[cid]["status"] for name, cid in ids.items() if cid in found}
    assert set(statuses) == {"anna", "cara", "dora", "eero", "fred", "gus"}  # bert shares anna's message
    assert {n: s for n, s in statuses.items() if s not in SENT} == {
        "cara": "invalid_number",
        "dora": "invalid_number",
        "eero": "opted_out",
        "fred": "invalid_number",
    }
    assert "not a mobile number" in found[ids["dora"]]["reason"]
    assert found[ids["anna"]]["id"] == derived_id(send["id"], "+358401112233")
    assert found[ids["gus"]]["text"] == "Hei Gus! Kevätale alkaa."  # tags filled per contact
    assert set(messages_of(admin, send["id"], status="opted_out")) == {ids["eero"]}

    # One message per number at the provider; the send's parts reserved once and charged.
    sent = sorted(at_provider(stack, tenant))
    assert sent == sorted([found[ids["anna"]]["id"], found[ids["gus"]]["id"]])
    assert reservations(admin, send["id"]) == [2]
    settle(stack, lambda: ok(admin.get("/sms/balance"))["charged"] == 2, busy_ok=True)
    assert ok(admin.get("/sms/balance")) == {"available": 8, "reserved": 0, "charged": 2}
    listed = walk(admin, "/sms/sends", limit=10)
    assert [(s["id"], s["status"]) for s in listed] == [(send["id"], "sent")]

    # The page delivered again, as itself and as a new event: nothing is staged, reserved or sent twice.
    [page] = [e for e in envelopes(stack, tenant, "audience.page") if e["data"]["request_id"] == send["id"]]
    put_envelope(stack, page)
    put_envelope(stack, {**page, "id": new_id()})
    drain(stack, busy_ok=True)
    drain(stack, busy_ok=True)
    assert sorted(at_provider(stack, tenant)) == sent
    assert reservations(admin, send["id"]) == [2]
    again = ok(admin.get(f"/sms/sends/{send['id']}"))["stats"]
    assert {k: again[k] for k in ("recipients", "invalid_number", "opted_out")} == {
        "recipients": 6,
        "invalid_number": 3,
        "opted_out": 1,
    }

    # A plain user sees the send (as email campaigns) but not the messages of contacts they may not see.
    user = api.as_(tenant, "user-9", "user")
    assert ok(user.get(f"/sms/sends/{send['id']}"))["stats"]["recipients"] == 6
    settle(stack, lambda: walk(user, f"/sms/sends/{send['id']}/messages", limit=50) == [], busy_ok=True)
    assert walk(user, f"/sms/sends/{send['id']}/messages", limit=50) == []  # the admin's contacts

    # Another tenant sees none of it.
    stranger = api.as_(new_tenant(), "admin-1", "admin")
    assert_problem(stranger.get(f"/sms/sends/{send['id']}"), 404)
    assert_problem(stranger.get(f"/sms/sends/{send['id']}/messages"), 404)
    assert_problem(stranger.post(f"/sms/sends/{send['id']}/cancel"), 404)
    assert stranger.get("/sms/sends").json()["items"] == []


def test_a_send_the_balance_does_not_cover_is_refused_whole(api: Api, stack: LocalRuntime) -> None:
    tenant, admin = shop(api, 1)
    group_id, _ = group(admin, {"anna": {"mobile": "040 111 0001"}, "bert": {"mobile": "040 111 0002"}})
    send = start(admin, group_id)
    refused = settled(stack, admin, send["id"], lambda s: s["status"] == "refused")
    assert "credits" in refused["reason"] and refused["credits"] == 0
    assert (refused["stats"]["recipients"], refused["stats"]["skipped"], refused["stats"]["queued"]) == (2, 2, 0)
    assert {m["status"] for m in messages_of(admin, send["id"]).values()} == {"skipped"}
    drain(stack, busy_ok=True)
    assert at_provider(stack, tenant) == []
    assert ok(admin.get("/sms/balance")) == {"available": 1, "reserved": 0, "charged": 0}
    assert reservations(admin, send["id"]) == []


def test_a_consumer_killed_between_reserving_and_queueing_sends_once(api: Api, stack: LocalRuntime) -> None:
    tenant, admin = shop(api, 5)
    group_id, _ = group(admin, {"anna": {"mobile": "040 111 0011"}, "bert": {"mobile": "040 111 0012"}})
    assert stack.functions is not None
    drain(stack, busy_ok=True)
    crash = Fault("sqs", "SendMessageBatch", "before")
    with stack.functions.configured("SmsConsumerFunction", faults=[crash]) as (armed,):
        send = start(admin, group_id)
        final = settled(stack, admin, send["id"], done)
        assert armed.fired  # the consumer did die after the reservation, before the queue
    assert final["credits"] == 2 and reservations(admin, send["id"]) == [2]
    assert sorted(at_provider(stack, tenant)) == sorted(m["id"] for m in messages_of(admin, send["id"]).values())
    assert len(at_provider(stack, tenant)) == 2


def test_bad_sends_are_refused_naming_the_field(api: Api, stack: LocalRuntime) -> None:
    off = api.as_(new_tenant(), "admin-1", "admin")
    assert_problem(off.post("/sms/sends", json={"target_group_id": "G1", "text": "Hei"}), 403, "active")
    tenant, admin = shop(api, 5)
    assert_problem(admin.post("/sms/sends", json={"target_group_id": "G1", "text": " "}), 422, "text")
    assert_problem(admin.post("/sms/sends", json={"target_group_id": "G1", "text": "{{ contact.nope }}"}), 422, "text")
    assert_problem(admin.post("/sms/sends", json={"target_group_id": "G1", "text": "x" * 1601}), 422, "text")
    assert admin.patch("/sms/settings", json={"max_parts": 1}).status_code == 200
    assert_problem(admin.post("/sms/sends", json={"target_group_id": "G1", "text": "x" * 161}), 422, "text")
    past = {"target_group_id": "G1", "text": "Hei", "scheduled_at": "2020-01-01T09:00:00Z"}
    assert_problem(admin.post("/sms/sends", json=past), 422, "scheduled_at")
    assert walk(admin, "/sms/sends", limit=10) == []

    # Another tenant's group, an id nobody has: 422 naming target_group_id, nothing written or reserved.
    _, other = shop(api, 0)
    theirs, _ = group(other, {"anna": {"mobile": "040 111 0021"}})
    drain(stack, busy_ok=True)
    for group_id in (theirs, "01NOSUCHTARGETGROUP"):
        refused = admin.post("/sms/sends", json={"target_group_id": group_id, "text": "Hei"})
        assert_problem(refused, 422, "target_group_id")
        assert [e["code"] for e in refused.json()["errors"]] == ["unknown_target_group"]
    assert walk(admin, "/sms/sends", limit=10) == []
    assert ok(admin.get("/sms/balance")) == {"available": 5, "reserved": 0, "charged": 0}
    drain(stack, busy_ok=True)
    assert envelopes(stack, tenant, "audience.requested") == []
    assert at_provider(stack, tenant) == []


def test_a_group_created_a_moment_ago_is_waited_for_and_a_deleted_one_refused(api: Api, stack: LocalRuntime) -> None:
    """The send's group check reads the sms service's projection of target_group.*: a group whose
    event has not arrived yet is waited for (a short grace), a deleted group is refused, and a
    target_group.updated that comes after the deletion does not bring it back."""
    tenant, admin = shop(api, 5)
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "1"})  # the projection lags a second
    try:
        group_id, _ = group(admin, {"anna": {"mobile": "040 111 0041"}})
        assert stored_data(stack, TABLE, tenant, "target_group", group_id) == {}  # not projected yet
        send = start(admin, group_id)  # waits for it
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    settled(stack, admin, send["id"], lambda s: s["status"] == "sent")

    assert ok(admin.patch(f"/target-groups/{group_id}", json={"name": "Syksy"}))["name"] == "Syksy"
    assert admin.delete(f"/target-groups/{group_id}").status_code == 204
    assert settle(stack, lambda: stored_data(stack, TABLE, tenant, "target_group", group_id).get("gone"))
    refused = admin.post("/sms/sends", json={"target_group_id": group_id, "text": "Hei"})
    assert_problem(refused, 422, "target_group_id")

    # The group's update delivered again after its deletion, as a new event and a later one: still gone.
    updated = envelopes(stack, tenant, "target_group.updated")[-1]
    assert updated["data"]["id"] == group_id
    put_envelope(stack, {**updated, "id": new_id(), "occurred_at": datetime.now(UTC).isoformat()})
    put_envelope(stack, updated)
    drain(stack, busy_ok=True)
    assert stored_data(stack, TABLE, tenant, "target_group", group_id).get("gone") is True
    assert_problem(admin.post("/sms/sends", json={"target_group_id": group_id, "text": "Hei"}), 422, "target_group_id")
    assert [s["id"] for s in walk(admin, "/sms/sends", limit=10)] == [send["id"]]
    assert ok(admin.get("/sms/balance"))["reserved"] == 0


def test_a_scheduled_send_goes_at_its_time_and_a_cancelled_one_never(api: Api, stack: LocalRuntime) -> None:
    tenant, admin = shop(api, 5)
    group_id, _ = group(admin, {"anna": {"mobile": "040 111 0031"}, "bert": {"mobile": "040 111 0032"}})
    later = start(admin, group_id, scheduled_at="2031-01-05T09:00:00+02:00")
    assert later["status"] == "scheduled" and later["scheduled_at"].startswith("2031-01-05T07:00:00")
    name = f"sms-send-{later['id']}"
    got = stack.client("scheduler").get_schedule(Name=name, GroupName="kontakt-dev")
    assert got["ScheduleExpression"] == "at(2031-01-05T07:00:00)"
    never = start(admin, group_id, scheduled_at="2031-01-05T09:00:00+02:00")
    cancelled = ok(admin.post(f"/sms/sends/{never['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert f"sms-send-{never['id']}" not in [
        s["Name"] for s in stack.client("scheduler").list_schedules(GroupName="kontakt-dev")["Schedules"]
    ]
    assert admin.patch("/sms/settings", json={"active": True}).status_code == 200  # as they are: no event
    drain(stack, busy_ok=True)
    assert envelopes(stack, tenant, "audience.requested") == []  # nothing resolved before its time
    # The settings, the top-up, the sends and the cancellation are events for the audit trail.
    events = [e for e in envelopes(stack, tenant) if e["type"].startswith("sms_")]
    assert [e["type"] for e in events] == [
        "sms_settings.updated",
        "sms_credits.topped_up",
        "sms_send.created",
        "sms_send.created",
        "sms_send.cancelled",
    ]
    assert events[0]["changes"] == [{"field": "active", "old": False, "new": True}]
    assert events[1]["data"]["credits"] == 5 and events[3]["data"]["status"] == "scheduled"
    assert events[4]["data"]["id"] == never["id"]
    assert {"field": "status", "old": "scheduled", "new": "cancelled"} in events[4]["changes"]

    assert name not in stack.fire_schedules(datetime(2031, 1, 5, 6, 59, tzinfo=UTC))
    assert name in stack.fire_schedules(datetime(2031, 1, 5, 7, 0, tzinfo=UTC))
    final = settled(stack, admin, later["id"], done)
    assert final["started_at"]
    assert len(at_provider(stack, tenant)) == 2
    # The same firing delivered again sends nothing more; the cancelled send stays so.
    job = {"job": "sms.send", "tenant_id": tenant, "send_id": later["id"], "scheduled_time": "2031-01-05T07:00:00Z"}
    sqs = stack.client("sqs")
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName="kontakt-dev-sms-jobs")["QueueUrl"], MessageBody=json.dumps(job)
    )
    drain(stack, busy_ok=True)
    assert len(at_provider(stack, tenant)) == 2
    assert ok(admin.get(f"/sms/sends/{never['id']}"))["status"] == "cancelled"
    assert_problem(admin.post(f"/sms/sends/{later['id']}/cancel"), 409)

    # A plain user who did not make the send may not cancel it.
    user = api.as_(tenant, "user-9", "user")
    body = {"target_group_id": group_id, "text": TEXT, "scheduled_at": "2031-02-01T09:00:00Z"}
    first = admin.post("/sms/sends", json=body, headers={"Idempotency-Key": "feb-1"})
    again = admin.post("/sms/sends", json=body, headers={"Idempotency-Key": "feb-1"})
    assert (first.status_code, again.status_code, again.headers.get("Idempotent-Replayed")) == (202, 202, "true")
    third = first.json()
    assert again.json()["id"] == third["id"]
    assert len(walk(admin, "/sms/sends", limit=10)) == 3  # later, never and this one: the retry made none
    assert_problem(user.post(f"/sms/sends/{third['id']}/cancel"), 403)
    assert ok(user.get(f"/sms/sends/{third['id']}"))["status"] == "scheduled"
