"""SES feedback [issue 5 item 6, issue 12 section 4]: SES events of the stage's configuration set on the
default bus -> the message's history, one `email.<kind>` event per report, suppression (hard bounce,
complaint, soft bounces at the limit); a rejected mail fails, a delayed one is noted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from infra.runtime import LocalRuntime
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import TABLE, request_mail, stored_message
from tests.e2e.helpers import envelopes, settle, stored_data


def _send(stack: LocalRuntime, tenant: str, to: str) -> str:
    """A transactional mail, sent through SES (moto); its message id."""
    message_id = request_mail(stack, tenant, to=to, subject="Hello")
    sent = settle(stack, lambda: stored_message(stack, tenant, message_id).get("status"))
    assert sent == "sent", f"expected the mail sent, its status is {sent!r}"
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
    configuration_set: str | None = None,
    **section: Any,
) -> None:
    """An SES event as the configuration set's EventBridge destination puts it on the default bus; the
    mail's tags name its tenant and message as the sender tags them (none: a mail that is not ours)."""
    assert stack.stack is not None
    own = stack.stack.configuration_sets["EmailConfigurationSet"].name
    tags = {"ses:configuration-set": [configuration_set or own]}
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


def _suppression(stack: LocalRuntime, tenant: str, address: str) -> dict[str, Any]:
    """The address's suppression record ({} when it is not suppressed)."""
    return stored_data(stack, TABLE, tenant, "suppression", derived_id(address))


def _soft_bounces(stack: LocalRuntime, tenant: str, address: str) -> dict[str, Any]:
    """The address's soft-bounce counter ({} while there is none)."""
    return stored_data(stack, TABLE, tenant, "soft_bounces", derived_id(address))


def test_a_hard_bounce_suppresses_the_address(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    message_id = _send(stack, tenant, "Gone@Example.com")
    _bounce(stack, tenant, message_id, "gone@example.com", "Permanent")
    record = settle(stack, lambda: _suppression(stack, tenant, "gone@example.com"))
    assert record.get("reason") == "hard_bounce", record
    [bounced] = settle(stack, lambda: envelopes(stack, tenant, "email.bounced"))
    assert bounced["data"]["message_id"] == message_id
    assert (bounced["data"]["bounce_type"], bounced["data"]["suppressed"]) == ("hard", True)
    message = admin.get(f"/email/messages/{message_id}").json()
    assert message["status"] == "sent"

    # a later request to the address is not sent
    second = request_mail(stack, tenant, to="gone@example.com", subject="Again")
    status = settle(stack, lambda: admin.get(f"/email/messages/{second}").json().get("status"))
    assert status == "suppressed"

    # another tenant's mail to the same address is not affected
    assert _suppression(stack, "t" + new_id().lower()[:16], "gone@example.com") == {}


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
    data = stored_message(stack, tenant, message_id)
    assert data["delivery"] == "delivered"
    assert [r["kind"] for r in data["feedback"]] == ["delivered"]


def test_soft_bounces_suppress_at_the_limit(stack: LocalRuntime, tenant: str) -> None:
    # The emulated SES reports no delivery to the reserved .invalid TLD (a delivery resets the count).
    address = "full@example.invalid"
    for count in (1, 2, 3):
        message_id = _send(stack, tenant, address)
        _bounce(stack, tenant, message_id, address, "Transient")
        _bounce(stack, tenant, message_id, address, "Transient")  # a redelivery counts once
        counter = settle(stack, lambda: _soft_bounces(stack, tenant, address))
        assert settle(stack, lambda c=count: _soft_bounces(stack, tenant, address).get("count") == c), counter
        suppressed = _suppression(stack, tenant, address)
        assert bool(suppressed) == (count == 3), count
    assert _suppression(stack, tenant, address)["reason"] == "soft_bounces"
    bounced = settle(
        stack, lambda: len(envelopes(stack, tenant, "email.bounced")) == 3 and envelopes(stack, tenant, "email.bounced")
    )
    assert [b["data"]["suppressed"] for b in bounced] == [False, False, True]
    assert {b["data"]["bounce_type"] for b in bounced} == {"soft"}


def test_complaints_are_recorded_and_ses_opens_and_clicks_are_not_taken(stack: LocalRuntime, tenant: str) -> None:
    """Opens and clicks are Kontakt's own /t/ links (tests/e2e/email/test_tracking.py): the feedback
    rule does not take SES's Open and Click, which the configuration set does not enable."""
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
    link = "https://example.com/offer"
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
    assert settle(stack, lambda: envelopes(stack, tenant, "email.complained"))
    stack.drain()
    assert envelopes(stack, tenant, "email.clicked") == [] and envelopes(stack, tenant, "email.opened") == []
    data = stored_message(stack, tenant, message_id)
    assert "opened_at" not in data and "clicked_at" not in data
    # SES (the emulated configuration set) reported the delivery by itself
    assert sorted(r["kind"] for r in data["feedback"]) == ["complained", "delivered"]
    assert _suppression(stack, tenant, "reader@example.com")["reason"] == "complaint"


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
    assert _suppression(stack, tenant, "stranger@example.com") == {}
    assert envelopes(stack, tenant, "email.bounced") == []


def test_events_of_another_configuration_set_are_not_taken(stack: LocalRuntime, tenant: str) -> None:
    """Another stage (or another application) in the account publishes to the same default bus."""
    message_id = _send(stack, tenant, "shared@example.com")
    bounce = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "shared@example.com"}]}
    _ses(
        stack,
        tenant,
        "Email Bounced",
        "Bounce",
        message_id,
        "shared@example.com",
        configuration_set="kontakt-prod-email",
        bounce=bounce,
    )
    stack.drain()
    assert _suppression(stack, tenant, "shared@example.com") == {}
    assert envelopes(stack, tenant, "email.bounced") == []
    data = stored_message(stack, tenant, message_id)
    assert [r["kind"] for r in data["feedback"]] == ["delivered"]  # SES's own report only


def test_a_rejected_mail_fails_once_and_is_not_suppressed(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    message_id = _send(stack, tenant, "virus@example.com")
    for _ in range(2):  # and once more: one report
        _ses(
            stack, tenant, "Email Rejected", "Reject", message_id, "virus@example.com", reject={"reason": "Bad content"}
        )
    [rejected] = settle(stack, lambda: envelopes(stack, tenant, "email.rejected"))
    assert rejected["data"]["message_id"] == message_id
    assert rejected["data"]["reason"] == "SES rejected the mail: Bad content"
    stack.drain()
    assert len(envelopes(stack, tenant, "email.rejected")) == 1
    message = admin.as_(tenant, "admin-1").get(f"/email/messages/{message_id}").json()
    assert message["status"] == "failed" and message["error"] == "SES rejected the mail: Bad content"
    assert message["delivery"] in ("rejected", "delivered")  # the emulated SES delivered it first
    assert message["rejected_at"]
    assert _suppression(stack, tenant, "virus@example.com") == {}  # the mail was refused, not the address


def test_a_rendering_failure_fails_the_mail(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    message_id = _send(stack, tenant, "render@example.com")
    failure = {"errorMessage": "Attribute 'name' is not present", "templateName": "t"}
    _ses(
        stack, tenant, "Email Rendering Failed", "Rendering Failure", message_id, "render@example.com", failure=failure
    )
    settle(stack, lambda: envelopes(stack, tenant, "email.rejected"))
    message = admin.as_(tenant, "admin-1").get(f"/email/messages/{message_id}").json()
    assert message["status"] == "failed" and "could not render" in message["error"]


def test_a_delivery_delay_is_noted_not_a_bounce(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    address = "slow@example.invalid"  # the emulated SES reports no outcome for .invalid
    message_id = _send(stack, tenant, address)
    delay = {
        "delayType": "MailboxFull",
        "delayedRecipients": [{"emailAddress": address, "status": "4.2.2"}],
        "timestamp": "2026-11-24T10:05:00.000Z",
    }
    for _ in range(2):
        _ses(stack, tenant, "Email Delivery Delayed", "DeliveryDelay", message_id, address, deliveryDelay=delay)
    found = settle(
        stack, lambda: admin.as_(tenant, "admin-1").get(f"/email/messages/{message_id}").json().get("delayed_at")
    )
    assert found and found.startswith("2026-11-24T10:05")
    stack.drain()
    message = admin.as_(tenant, "admin-1").get(f"/email/messages/{message_id}").json()
    assert message["status"] == "sent" and message["delivery"] == "delayed"
    data = stored_message(stack, tenant, message_id)
    assert [r["kind"] for r in data["feedback"]] == ["delayed"]  # noted once
    assert envelopes(stack, tenant, "email.bounced") == []
    assert _soft_bounces(stack, tenant, address) == {}
    assert _suppression(stack, tenant, address) == {}
