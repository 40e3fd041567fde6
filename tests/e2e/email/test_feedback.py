"""SES feedback [issue 5 item 6]: SES events on the default bus -> the message's history, one
`email.<kind>` event per report, and suppression (hard bounce, complaint, soft bounces at the limit)."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import envelopes, put_envelope, settle

TABLE = "kontakt-dev-email"


@pytest.fixture(scope="module", autouse=True)
def verified_domain(stack: LocalRuntime) -> None:
    with suppress(Exception):  # another module may have verified it already
        stack.client("sesv2").create_email_identity(EmailIdentity="kontakt.dev")


def _record(stack: LocalRuntime, tenant: str, kind: str, record_id: str) -> dict[str, Any] | None:
    item = stack.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"T#{tenant}#{kind.upper()}#{record_id}"}, "sk": {"S": kind.upper()}}
    )
    return item.get("Item")


def _send(stack: LocalRuntime, tenant: str, to: str) -> str:
    """A transactional mail, sent through SES (moto); its message id."""
    request_id = new_id()
    put_envelope(
        stack,
        {
            "id": new_id(),
            "type": "email.send_requested",
            "version": 1,
            "tenant_id": tenant,
            "occurred_at": datetime.now(UTC).isoformat(),
            "actor": {"type": "service", "id": "scanner"},
            "correlation_id": new_id(),
            "data": {"request_id": request_id, "requester": "scanner", "to": to, "subject": "Hello"},
        },
    )
    message_id = derived_id("scanner", request_id)
    sent = settle(stack, lambda: (r := _record(stack, tenant, "message", message_id)) and r["data"]["M"]["status"]["S"])
    assert sent == "sent", "mail not sent"
    return message_id


def _ses(
    stack: LocalRuntime,
    tenant: str | None,
    detail_type: str,
    event_type: str,
    message_id: str,
    to: str,
    header: str | None = None,
    sent: str | None = None,
    **section: Any,
) -> None:
    """An SES event as the configuration set's EventBridge destination puts it on the default bus; the
    mail's tags name its tenant and message as the sender tags them (none: a mail that is not ours)."""
    tags = {"ses:configuration-set": ["kontakt"]}
    if tenant:
        tags.update(tenant=[tenant], message=[message_id])
    detail = {
        "eventType": event_type,
        "mail": {
            "timestamp": sent or datetime.now(UTC).isoformat(),
            "messageId": f"ses-{message_id}",
            "destination": [to],
            "headers": [{"name": "Message-ID", "value": header or f"<{message_id}@kontakt>"}],
            "tags": tags,
        },
        **section,
    }
    response = stack.client("events").put_events(
        Entries=[{"Source": "aws.ses", "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert response["FailedEntryCount"] == 0, response


def _bounce(stack: LocalRuntime, tenant: str, message_id: str, to: str, kind: str) -> None:
    bounce = {"bounceType": kind, "bouncedRecipients": [{"emailAddress": to}], "timestamp": "2026-11-24T10:00:00Z"}
    _ses(stack, tenant, "Email Bounced", "Bounce", message_id, to, bounce=bounce)


def _suppression(stack: LocalRuntime, tenant: str, address: str) -> dict[str, Any] | None:
    return _record(stack, tenant, "suppression", derived_id(address))


def test_a_hard_bounce_suppresses_the_address(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    message_id = _send(stack, tenant, "Gone@Example.com")
    _bounce(stack, tenant, message_id, "gone@example.com", "Permanent")
    record = settle(stack, lambda: _suppression(stack, tenant, "gone@example.com"))
    assert record is not None and record["data"]["M"]["reason"]["S"] == "hard_bounce"
    [bounced] = settle(stack, lambda: envelopes(stack, tenant, "email.bounced"))
    assert bounced["data"]["message_id"] == message_id
    assert (bounced["data"]["bounce_type"], bounced["data"]["suppressed"]) == ("hard", True)
    message = admin.get(f"/email/messages/{message_id}").json()
    assert message["status"] == "sent"

    # a later request to the address is not sent
    request_id = new_id()
    put_envelope(
        stack,
        {
            "id": new_id(),
            "type": "email.send_requested",
            "version": 1,
            "tenant_id": tenant,
            "occurred_at": datetime.now(UTC).isoformat(),
            "actor": {"type": "service", "id": "scanner"},
            "correlation_id": new_id(),
            "data": {"request_id": request_id, "requester": "scanner", "to": "gone@example.com", "subject": "Again"},
        },
    )
    second = derived_id("scanner", request_id)
    status = settle(stack, lambda: admin.get(f"/email/messages/{second}").json().get("status"))
    assert status == "suppressed"

    # another tenant's mail to the same address is not affected
    assert _suppression(stack, "t" + new_id().lower()[:16], "gone@example.com") is None


def test_a_report_delivered_twice_is_recorded_once(stack: LocalRuntime, tenant: str) -> None:
    """SES's own Delivery event (the emulated configuration set) and two more copies: one report."""
    message_id = _send(stack, tenant, "anna@example.com")
    for _ in range(2):
        _ses(
            stack,
            tenant,
            "Email Delivered",
            "Delivery",
            message_id,
            "anna@example.com",
            delivery={"recipients": ["anna@example.com"]},
        )
    settle(stack, lambda: envelopes(stack, tenant, "email.delivered"))
    stack.drain()
    delivered = envelopes(stack, tenant, "email.delivered")
    assert len(delivered) == 1
    assert delivered[0]["data"]["message_id"] == message_id
    record = _record(stack, tenant, "message", message_id)
    assert record is not None
    data = record["data"]["M"]
    assert data["delivery"]["S"] == "delivered"
    assert [r["M"]["kind"]["S"] for r in data["feedback"]["L"]] == ["delivered"]


def test_soft_bounces_suppress_at_the_limit(stack: LocalRuntime, tenant: str) -> None:
    # The emulated SES reports no delivery to the reserved .invalid TLD (a delivery resets the count).
    address = "full@example.invalid"
    for count in (1, 2, 3):
        message_id = _send(stack, tenant, address)
        _bounce(stack, tenant, message_id, address, "Transient")
        _bounce(stack, tenant, message_id, address, "Transient")  # a redelivery counts once
        counter = settle(stack, lambda: _record(stack, tenant, "soft_bounces", derived_id(address)) or None)
        assert settle(
            stack,
            lambda c=count: (
                (r := _record(stack, tenant, "soft_bounces", derived_id(address)))
                and r["data"]["M"]["count"]["N"] == str(c)
            ),
        ), counter
        suppressed = _suppression(stack, tenant, address)
        assert (suppressed is not None) == (count == 3), count
    assert _suppression(stack, tenant, address)["data"]["M"]["reason"]["S"] == "soft_bounces"  # type: ignore[index]
    bounced = settle(
        stack, lambda: len(envelopes(stack, tenant, "email.bounced")) == 3 and envelopes(stack, tenant, "email.bounced")
    )
    assert [b["data"]["suppressed"] for b in bounced] == [False, False, True]
    assert {b["data"]["bounce_type"] for b in bounced} == {"soft"}


def test_opens_clicks_and_complaints_are_recorded(stack: LocalRuntime, tenant: str) -> None:
    message_id = _send(stack, tenant, "reader@example.com")
    _ses(
        stack,
        tenant,
        "Email Opened",
        "Open",
        message_id,
        "reader@example.com",
        open={"timestamp": "2026-11-24T11:00:00Z"},
    )
    link = "https://kontakt.dev/offer"
    _ses(stack, tenant, "Email Clicked", "Click", message_id, "reader@example.com", click={"link": link})
    _ses(
        stack,
        tenant,
        "Email Complaint Received",
        "Complaint",
        message_id,
        "reader@example.com",
        complaint={"complainedRecipients": [{"emailAddress": "reader@example.com"}]},
    )
    clicked = settle(stack, lambda: envelopes(stack, tenant, "email.clicked"))
    assert [c["data"]["url"] for c in clicked] == [link]
    assert settle(stack, lambda: envelopes(stack, tenant, "email.opened"))
    assert settle(stack, lambda: envelopes(stack, tenant, "email.complained"))
    data = _record(stack, tenant, "message", message_id)["data"]["M"]  # type: ignore[index]
    assert data["opened_at"]["S"] == "2026-11-24T11:00:00+00:00" or data["opened_at"]["S"].startswith(
        "2026-11-24T11:00"
    )
    assert "clicked_at" in data
    # SES (the emulated configuration set) reported the delivery by itself
    assert sorted(r["M"]["kind"]["S"] for r in data["feedback"]["L"]) == [
        "clicked",
        "complained",
        "delivered",
        "opened",
    ]
    assert _suppression(stack, tenant, "reader@example.com")["data"]["M"]["reason"]["S"] == "complaint"  # type: ignore[index]


def test_events_for_mail_that_is_not_ours_change_nothing(stack: LocalRuntime, tenant: str) -> None:
    bounce = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "stranger@example.com"}]}
    _ses(
        stack,
        None,
        "Email Bounced",
        "Bounce",
        "x",
        "stranger@example.com",
        header="<x@elsewhere.example>",
        bounce=bounce,
    )
    # our form of Message-ID but no tenant tag (not sent by our sender, which tags every mail): skipped, not retried
    _ses(stack, None, "Email Bounced", "Bounce", new_id(), "stranger@example.com", bounce=bounce)
    # the tenant's tag on a message it never sent: skipped
    _ses(stack, tenant, "Email Bounced", "Bounce", new_id(), "stranger@example.com", bounce=bounce)
    stack.drain()
    assert _suppression(stack, tenant, "stranger@example.com") is None
    assert envelopes(stack, tenant, "email.bounced") == []
