"""Webhook delivery through `kontakt dev` (issue 20, items 3-4): events on the bus reach the tenant's
subscribed endpoints, signed as Standard Webhooks says (its reference library verifies every request),
and the answers decide what follows. The receiver is a real HTTP server on 127.0.0.1 started by the
test; the deliverer reaches it because the local stack's outbound guard allows loopback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import envelopes, new_tenant, settle, table_name
from tests.e2e.webhooks.delivery_helpers import (
    attempts,
    contact_created,
    contact_envelope,
    delivered,
    endpoint,
    message,
    message_id,
    put_together,
    sweep,
)
from tests.e2e.webhooks.receiver import Answer, receiver


def verified(secret: str, request: object) -> dict[str, object]:
    """The body, once the reference library accepted the request's signature with `secret`."""
    return dict(Webhook(secret).verify(request.body, request.headers))  # type: ignore[attr-defined]


def test_an_event_reaches_the_subscribed_endpoint_signed_and_no_other(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    other_tenant = new_tenant()
    other = admin.as_(other_tenant, "admin-1", "admin")
    with receiver() as hooks:
        contacts = endpoint(admin, hooks.url("/contacts"), event_types=["contact.*"], headers={"X-Api-Key": "k1"})
        mail = endpoint(admin, hooks.url("/mail"), event_types=["email.sent"])
        everything = endpoint(admin, hooks.url("/all"))
        endpoint(other, hooks.url("/other"))  # another tenant's endpoint, subscribed to every type
        event = contact_created(stack, tenant)
        contact_created(stack, tenant)  # a second event of the tenant
        ours = lambda path: [r for r in hooks.at(path) if json.loads(r.body)["type"] == "contact.created"]  # noqa: E731
        assert settle(stack, lambda: len(hooks.at("/contacts")) == 2 and len(ours("/all")) == 2)
        from tests.e2e.helpers import put_envelope

        put_envelope(stack, event)  # the same event again, as a redelivery: no second message
        settle(stack, lambda: True)

        assert hooks.at("/mail") == []
        # the other tenant's endpoint gets its own tenant's events only (its admin's user.created, say)
        assert {json.loads(r.body)["tenant_id"] for r in hooks.at("/other")} <= {other_tenant}
        first = next(r for r in hooks.at("/contacts") if json.loads(r.body)["id"] == event["id"])
        assert len([r for r in hooks.at("/contacts") if json.loads(r.body)["id"] == event["id"]]) == 1
        assert verified(contacts["secret"], first) == delivered(event)  # the envelope, less its origin
        headers = first.headers
        mid = message_id(contacts["id"], event["id"])
        assert headers["webhook-id"] == mid
        assert headers["content-type"] == "application/json" and "Kontakt" in headers["user-agent"]
        assert headers["x-api-key"] == "k1"
        assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
        assert headers["webhook-signature"].startswith("v1,") and " " not in headers["webhook-signature"]
        for request in hooks.at("/all"):  # the tenant's other events too (user.created of its admin)
            verified(everything["secret"], request)

        stored = message(stack, tenant, mid)
        assert stored["status"] == "delivered" and stored["attempts"] == 1 and stored["event_type"] == "contact.created"
        assert stored["payload"] == first.body
        [attempt] = attempts(stack, tenant, mid)
        assert attempt["outcome"] == "delivered" and attempt["status_code"] == 200 and attempt["response_body"] == "ok"
        assert attempt["url"] == hooks.url("/contacts") and attempt["number"] == 1
        assert mail["id"] not in {r.headers["webhook-id"] for r in hooks.received}


def test_during_a_rotation_every_request_carries_both_signatures(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        created = endpoint(admin, hooks.url("/rotating"), event_types=["contact.*"])
        rotated = admin.post(f"/webhooks/endpoints/{created['id']}/rotate-secret").json()
        contact_created(stack, tenant)
        assert settle(stack, lambda: hooks.at("/rotating"))
        [request] = hooks.at("/rotating")
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert verified(created["secret"], request) == verified(rotated["secret"], request)


def test_a_400_fails_at_once_a_410_disables_the_endpoint(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        hooks.answers["/bad"] = Answer(400)
        hooks.answers["/gone"] = Answer(410)
        bad = endpoint(admin, hooks.url("/bad"), event_types=["contact.*"])
        gone = endpoint(admin, hooks.url("/gone"), event_types=["contact.*"])
        event = contact_created(stack, tenant)
        bad_id, gone_id = message_id(bad["id"], event["id"]), message_id(gone["id"], event["id"])
        assert settle(stack, lambda: message(stack, tenant, gone_id).get("status") == "failed")
        assert settle(stack, lambda: envelopes(stack, tenant, "webhook.endpoint_disabled"))

        assert (
            message(stack, tenant, bad_id)["status"] == "failed"
            and message(stack, tenant, bad_id)["reason"] == "rejected"
        )
        assert message(stack, tenant, gone_id)["reason"] == "gone"
        assert len(hooks.at("/bad")) == 1 and len(hooks.at("/gone")) == 1
        shown = admin.get(f"/webhooks/endpoints/{gone['id']}").json()
        assert shown["enabled"] is False
        assert admin.get(f"/webhooks/endpoints/{bad['id']}").json()["enabled"] is True
        [disabled] = envelopes(stack, tenant, "webhook.endpoint_disabled")
        assert disabled["data"]["endpoint_id"] == gone["id"] and disabled["data"]["reason"] == "gone"

        contact_created(stack, tenant, "C2")  # a disabled endpoint gets nothing more
        settle(stack, lambda: len(hooks.at("/bad")) == 2)
        assert len(hooks.at("/gone")) == 1


# The schedule (domain/messages.py SCHEDULE): the delay before attempts 2..8, each ±20 %.
SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]


def test_retries_follow_the_schedule_and_exhaustion_is_published(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        hooks.answers["/down"] = Answer(503)
        down = endpoint(admin, hooks.url("/down"), event_types=["contact.*"])
        event = contact_created(stack, tenant)
        mid = message_id(down["id"], event["id"])
        # The first retry comes by the queue's delay (5 s ±20 % of real time): judged from the two
        # attempts' own records whenever the test looks (the state between them lasts ~5 s), never
        # sooner than the schedule's shortest (the queue's DelaySeconds is the delay rounded, >= 4 s).
        # Its computed delay is tests/integration/test_webhooks_delivery.py's (the clock not moving).
        made = settle(stack, lambda: attempts(stack, tenant, mid)[1:], attempts=100)
        assert made, message(stack, tenant, mid)
        first, second = (datetime.fromisoformat(a["started_at"]) for a in attempts(stack, tenant, mid)[:2])
        assert (second - first).total_seconds() >= SCHEDULE[0] * 0.8, (first, second)
        # Later ones wait in the due index (minutes to hours): each read while pending, then the sweep
        # of a firing at its moment, as time moves through the due index.
        for number, delay in enumerate(SCHEDULE[1:], start=3):
            stored = message(stack, tenant, mid)
            assert (stored["status"], stored["attempts"]) == ("pending", number - 1), stored
            due = datetime.fromisoformat(stored["next_attempt_at"])
            last = datetime.fromisoformat(stored["last_attempt_at"])
            assert delay * 0.8 - 1 <= (due - last).total_seconds() <= delay * 1.2 + 2, (number, due - last)
            sweep(stack, due + timedelta(minutes=3))
            assert settle(stack, lambda n=number: message(stack, tenant, mid).get("attempts") == n, attempts=100), (
                number
            )
        assert settle(stack, lambda: envelopes(stack, tenant, "webhook.exhausted"))
        stored = message(stack, tenant, mid)
        assert (stored["status"], stored["reason"], stored["attempts"]) == ("failed", "exhausted", 8)
        assert len(hooks.at("/down")) == 8  # every attempt once, no more
        assert {r.headers["webhook-id"] for r in hooks.at("/down")} == {mid}
        numbers = [a["number"] for a in attempts(stack, tenant, mid)]
        assert numbers == list(range(1, 9))
        [exhausted] = envelopes(stack, tenant, "webhook.exhausted")
        assert exhausted["data"]["message_id"] == mid and exhausted["data"]["last_status_code"] == 503


def test_an_endpoint_failing_for_five_days_is_disabled(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    with receiver() as hooks:
        hooks.answers["/failing"] = Answer(500)
        failing = endpoint(admin, hooks.url("/failing"), event_types=["contact.*"])
        since = (datetime.now(UTC) - timedelta(days=5, hours=1)).isoformat()
        stack.client("dynamodb").put_item(  # its health as 9 failed attempts over 5 days left it
            TableName=table_name(stack, "WebhooksTable"),
            Item={
                "pk": {"S": f"T#{tenant}#ENDPOINT_HEALTH#{failing['id']}"},
                "sk": {"S": "HEALTH"},
                "kind": {"S": "endpoint_health"},
                "failing_since": {"S": since},
                "failures": {"N": "9"},
            },
        )
        event = contact_created(stack, tenant)
        mid = message_id(failing["id"], event["id"])
        assert settle(stack, lambda: envelopes(stack, tenant, "webhook.endpoint_disabled"))
        [disabled] = envelopes(stack, tenant, "webhook.endpoint_disabled")
        assert (disabled["data"]["endpoint_id"], disabled["data"]["reason"]) == (failing["id"], "failing")
        assert admin.get(f"/webhooks/endpoints/{failing['id']}").json()["enabled"] is False
        # its retry finds it disabled: failed without a request. Queued now by the sweep (as when the
        # queue's message is lost) rather than after the queue's 5 s: the retry test waits for that one.
        due = datetime.fromisoformat(message(stack, tenant, mid)["next_attempt_at"])
        sweep(stack, due + timedelta(minutes=3))
        assert settle(stack, lambda: message(stack, tenant, mid).get("status") == "failed")
        assert message(stack, tenant, mid)["reason"] == "endpoint_disabled"
        assert len(hooks.at("/failing")) == 1


def test_an_endpoints_rate_limit_spreads_its_requests_and_fails_none(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    with receiver() as hooks:
        limited = endpoint(admin, hooks.url("/limited"), event_types=["contact.*"], rate_limit=2)
        events = [contact_envelope(tenant, f"C{n}") for n in range(8)]
        put_together(stack, events)
        assert settle(stack, lambda: len(hooks.at("/limited")) == 8, attempts=100)
        # The limiter's one-second windows (shared/send_rate.py): 2 requests each at most, so 8 take 4.
        # Arrival times alone cannot show it on a busy machine (a request granted late in one window
        # can arrive beside the next window's).
        windows = rate_windows(stack, f"RATE#WEBHOOK#{tenant}#{limited['id']}#")
        assert max(windows.values()) <= 2 and sum(windows.values()) == 8 and len(windows) >= 4, windows
        arrivals = sorted(r.at for r in hooks.at("/limited"))
        assert arrivals[-1] - arrivals[0] >= 1.0, arrivals  # without the limit they come within ~0.5 s
        for event in events:  # over the limit is later, never failed
            stored = message(stack, tenant, message_id(limited["id"], event["id"]))
            assert (stored["status"], stored["attempts"]) == ("delivered", 1)


def rate_windows(stack: LocalRuntime, prefix: str) -> dict[str, int]:
    """The tokens taken in each of the limiter's windows whose key starts with `prefix`."""
    pages = (
        stack.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=table_name(stack, "WebhooksTable"),
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": prefix}},
        )
    )
    return {item["pk"]["S"]: int(item["taken"]["N"]) for page in pages for item in page["Items"]}


def test_an_endpoint_on_a_public_address_is_never_reached_from_a_test(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    """hooks.example.com resolves to a public address in the test runtime (tests/e2e/hosts.py), which
    the outbound guard allows: the runtime's own sockets refuse it (infra/local_dns.py), so nothing
    leaves the machine even if the guard let something through that it should not."""
    public = endpoint(admin, "https://hooks.example.com/kontakt", event_types=["contact.*"])
    event = contact_created(stack, tenant, "C-public")
    mid = message_id(public["id"], event["id"])
    assert settle(stack, lambda: attempts(stack, tenant, mid))
    [attempt] = attempts(stack, tenant, mid)
    assert (attempt["error"], attempt["outcome"]) == ("connection", "retry"), attempt
    assert "status_code" not in attempt
