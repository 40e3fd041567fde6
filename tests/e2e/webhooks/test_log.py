"""The delivery log and replay through `kontakt dev` (issue 20, items 1 and 6): an endpoint's
messages and each message's attempts as a client reads them, the test event, a resend, and the
recovery of every failed message since a time. The receiver is a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from infra import devpage
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, new_tenant, settle, walk
from tests.e2e.webhooks.delivery_helpers import contact_created, delivered, endpoint, message_id
from tests.e2e.webhooks.receiver import Answer, receiver


def shown(admin: Api, endpoint_id: str, mid: str) -> dict[str, object]:
    answer = admin.get(f"/webhooks/endpoints/{endpoint_id}/messages/{mid}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_log_shows_each_message_and_attempt_and_a_resend_delivers_it(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    with receiver() as hooks:
        hooks.answers["/log"] = Answer(400, headers={"x-reason": "not yet"})
        created = endpoint(admin, hooks.url("/log"), event_types=["contact.*"])
        eid = created["id"]
        event = contact_created(stack, tenant, "C-log")
        mid = message_id(eid, event["id"])
        assert settle(stack, lambda: shown(admin, eid, mid)["status"] == "failed")

        message = shown(admin, eid, mid)
        assert message["reason"] == "rejected" and message["attempts"] == 1 and message["last_status_code"] == 400
        assert message["event_id"] == event["id"] and message["payload"] == delivered(event)
        assert [m["id"] for m in walk(admin, f"/webhooks/endpoints/{eid}/messages", status="failed")] == [mid]
        assert walk(admin, f"/webhooks/endpoints/{eid}/messages", status="delivered") == []
        [attempt] = walk(admin, f"/webhooks/endpoints/{eid}/messages/{mid}/attempts")
        assert attempt["status_code"] == 400 and attempt["outcome"] == "failed" and attempt["number"] == 1
        assert attempt["response_body"] == "ok" and attempt["response_headers"]["x-reason"] == "not yet"
        assert attempt["url"] == hooks.url("/log") and attempt["latency_ms"] >= 0

        hooks.answers["/log"] = Answer(200)
        resent = admin.post(f"/webhooks/endpoints/{eid}/messages/{mid}/resend")
        assert resent.status_code == 202, resent.text
        assert resent.json()["status"] == "pending"
        assert settle(stack, lambda: shown(admin, eid, mid)["status"] == "delivered")
        requests = hooks.at("/log")
        assert len(requests) == 2 and {r.headers["webhook-id"] for r in requests} == {mid}
        assert Webhook(created["secret"]).verify(requests[1].body, requests[1].headers) == delivered(event)
        numbers = [a["number"] for a in walk(admin, f"/webhooks/endpoints/{eid}/messages/{mid}/attempts")]
        assert numbers == [2, 1]  # the latest first
        assert shown(admin, eid, mid)["attempts"] == 2

        [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "webhooks"]  # the console page
        [row] = [r for r in panel["data"] if r["webhook-id"] == mid]
        assert (row["tenant"], row["type"], row["endpoint"]) == (tenant, "contact.created", hooks.url("/log"))
        assert (row["status"], row["attempts"], row["answer"], row["reason"]) == ("delivered", 2, 200, "")


def test_recover_puts_every_failed_message_since_a_time_back(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        hooks.answers["/flaky"] = Answer(422)
        eid = endpoint(admin, hooks.url("/flaky"), event_types=["contact.*"])["id"]
        since = datetime.now(UTC) - timedelta(seconds=5)
        events = [contact_created(stack, tenant, f"C-rec-{n}") for n in range(3)]
        mids = {message_id(eid, e["id"]) for e in events}

        def failed() -> set[str]:
            return {m["id"] for m in walk(admin, f"/webhooks/endpoints/{eid}/messages", status="failed")}

        assert settle(stack, lambda: failed() == mids)
        hooks.answers["/flaky"] = Answer(204)
        later = admin.post(f"/webhooks/endpoints/{eid}/recover", json={"since": datetime.now(UTC).isoformat()})
        assert later.status_code == 202 and later.json() == {"queued": 0, "more": False}
        recovered = admin.post(f"/webhooks/endpoints/{eid}/recover", json={"since": since.isoformat()})
        assert recovered.status_code == 202, recovered.text
        assert recovered.json() == {"queued": 3, "more": False}
        delivered = lambda: {m["id"] for m in walk(admin, f"/webhooks/endpoints/{eid}/messages", status="delivered")}  # noqa: E731
        assert settle(stack, lambda: delivered() == mids)
        assert len(hooks.at("/flaky")) == 6  # each message twice: its failure and its recovery, no more
        assert failed() == set()


def test_the_test_event_goes_to_that_endpoint_only(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        target = endpoint(admin, hooks.url("/target"))
        endpoint(admin, hooks.url("/bystander"))  # every type, but a test event is not on the bus
        sent = admin.post(f"/webhooks/endpoints/{target['id']}/test")
        assert sent.status_code == 202, sent.text
        message = sent.json()
        assert message["event_type"] == "webhook.test" and message["status"] == "pending"
        assert settle(stack, lambda: shown(admin, target["id"], message["id"])["status"] == "delivered")
        [request] = [r for r in hooks.at("/target") if json.loads(r.body)["type"] == "webhook.test"]
        body = Webhook(target["secret"]).verify(request.body, request.headers)
        assert body["data"]["endpoint_id"] == target["id"] and body["tenant_id"] == tenant
        assert request.headers["webhook-id"] == message["id"]
        assert all(json.loads(r.body)["type"] != "webhook.test" for r in hooks.at("/bystander"))

        admin.patch(f"/webhooks/endpoints/{target['id']}", json={"enabled": False})
        assert_problem(admin.post(f"/webhooks/endpoints/{target['id']}/test"), 409)


def test_another_tenants_and_unknown_ids_answer_404(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        eid = endpoint(admin, hooks.url("/mine"), event_types=["contact.*"])["id"]
        other = admin.as_(new_tenant(), "admin-1", "admin")
        other_eid = endpoint(other, hooks.url("/theirs"), event_types=["contact.*"])["id"]
        event = contact_created(stack, tenant, "C-404")
        mid = message_id(eid, event["id"])
        assert settle(stack, lambda: shown(admin, eid, mid)["status"] == "delivered")
        for path in (
            f"/webhooks/endpoints/{eid}/messages/{mid}",
            f"/webhooks/endpoints/{eid}/messages/{mid}/attempts",
            f"/webhooks/endpoints/{eid}/messages",
        ):
            assert_problem(other.get(path), 404)
        assert_problem(other.post(f"/webhooks/endpoints/{eid}/messages/{mid}/resend"), 404)
        assert_problem(other.post(f"/webhooks/endpoints/{eid}/test"), 404)
        # the message under another endpoint's id (the other tenant's, or an unknown one)
        assert_problem(admin.get(f"/webhooks/endpoints/{other_eid}/messages/{mid}"), 404)
        assert_problem(admin.get(f"/webhooks/endpoints/{eid}/messages/unknown-message"), 404)
        assert_problem(admin.post(f"/webhooks/endpoints/{eid}/recover", json={"since": "yesterday"}), 422, "since")


def test_the_log_is_for_admins(admin: Api, tenant: str) -> None:
    eid = endpoint(admin, "https://hooks.example.com/log")["id"]
    user = admin.as_(tenant, "user-1", "user")
    assert_problem(user.get(f"/webhooks/endpoints/{eid}/messages"), 403)
    assert_problem(user.post(f"/webhooks/endpoints/{eid}/test"), 403)
