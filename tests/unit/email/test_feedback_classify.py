"""SES feedback classification [issue 5 item 6]: the pure reading of SES event records."""

from __future__ import annotations

from typing import Any

from services.email.domain.feedback import (
    Kind,
    bounce_type,
    classify,
    message_id_from_header,
    soft_limit_reached,
)


def _mail(**extra: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-24T10:00:00.000Z",
        "messageId": "0100-ses-id",
        "destination": ["Anna@Example.com"],
        "headers": [{"name": "From", "value": "a@mail.example.com"}, {"name": "Message-ID", "value": "<m1@kontakt>"}],
        **extra,
    }


def test_a_permanent_bounce_is_hard_and_suppresses() -> None:
    detail = {
        "eventType": "Bounce",
        "mail": _mail(),
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": " Anna@Example.com "}],
            "timestamp": "2026-11-24T10:01:00.000Z",
        },
    }
    [report] = classify(detail)
    assert (report.kind, report.bounce_type, report.recipient, report.message_id) == (
        Kind.bounced,
        "hard",
        "anna@example.com",
        "m1",
    )
    assert report.suppresses and not report.soft_bounce
    assert report.at.isoformat() == "2026-11-24T10:01:00+00:00"


def test_transient_and_undetermined_bounces_are_soft() -> None:
    assert bounce_type("Transient") == "soft"
    assert bounce_type("Undetermined") == "soft"
    assert bounce_type("Permanent") == "hard"
    detail = {"eventType": "Bounce", "mail": _mail(), "bounce": {"bounceType": "Transient", "bouncedRecipients": []}}
    [report] = classify(detail)  # no bounced recipient named: the mail's destination
    assert report.soft_bounce and not report.suppresses and report.recipient == "anna@example.com"


def test_a_complaint_suppresses_each_complaining_recipient() -> None:
    detail = {
        "eventType": "Complaint",
        "mail": _mail(destination=["a@x.fi", "b@x.fi"]),
        "complaint": {"complainedRecipients": [{"emailAddress": "a@x.fi"}, {"emailAddress": "B@x.fi"}]},
    }
    reports = classify(detail)
    assert [r.recipient for r in reports] == ["a@x.fi", "b@x.fi"]
    assert all(r.kind == Kind.complained and r.suppresses for r in reports)


def test_a_delivery() -> None:
    [delivered] = classify({"eventType": "Delivery", "mail": _mail(), "delivery": {"recipients": ["anna@example.com"]}})
    assert delivered.kind == Kind.delivered and not delivered.suppresses and not delivered.not_sent
    assert delivered.key == ("m1", "delivered", "anna@example.com")


def test_a_reject_and_a_rendering_failure_mean_the_mail_was_not_sent() -> None:
    rejected = {"eventType": "Reject", "mail": _mail(), "reject": {"reason": "Bad content"}}
    [report] = classify(rejected)
    assert (report.kind, report.recipient, report.message_id) == (Kind.rejected, "anna@example.com", "m1")
    assert report.not_sent and not report.suppresses  # the mail was refused, not the address
    assert report.reason == "SES rejected the mail: Bad content"
    failure = {"errorMessage": "Attribute 'name' is not present", "templateName": "t"}
    [unrendered] = classify({"eventType": "Rendering Failure", "mail": _mail(), "failure": failure})
    assert unrendered.kind == Kind.rejected and unrendered.not_sent
    assert unrendered.reason == "SES could not render the mail: Attribute 'name' is not present"
    assert unrendered.key == report.key  # one mail fails once, whichever way SES says it


def test_a_delivery_delay_is_noted_not_a_bounce() -> None:
    delay = {
        "delayType": "MailboxFull",
        "expirationTime": "2026-11-25T10:00:00.000Z",
        "delayedRecipients": [{"emailAddress": "Anna@Example.com", "status": "4.2.2", "diagnosticCode": "452"}],
        "timestamp": "2026-11-24T10:05:00.000Z",
    }
    [report] = classify({"eventType": "DeliveryDelay", "mail": _mail(), "deliveryDelay": delay})
    assert (report.kind, report.recipient, report.reason) == (Kind.delayed, "anna@example.com", "MailboxFull")
    assert not report.suppresses and not report.soft_bounce and not report.not_sent
    assert report.at.isoformat() == "2026-11-24T10:05:00+00:00"


def test_events_we_do_not_record_and_mail_that_is_not_ours() -> None:
    assert classify({"eventType": "Send", "mail": _mail()}) == []
    # Opens and clicks are Kontakt's own (/t/ links); SES's are not enabled, and not read if they were.
    assert classify({"eventType": "Open", "mail": _mail(), "open": {"timestamp": "2026-11-24T11:00:00Z"}}) == []
    assert classify({"eventType": "Click", "mail": _mail(), "click": {"link": "https://example.com/x"}}) == []
    assert classify({}) == []
    foreign = _mail(headers=[{"name": "Message-ID", "value": "<abc@elsewhere.example>"}])
    [report] = classify({"eventType": "Delivery", "mail": foreign})
    assert report.message_id is None


def test_tags_name_the_tenant_and_message() -> None:
    mail = _mail(tags={"tenant": ["t1"], "message": ["m2"], "ses:configuration-set": ["kontakt"]})
    [report] = classify({"eventType": "Delivery", "mail": mail})
    assert (report.tenant_id, report.message_id) == ("t1", "m2")


def test_message_id_header() -> None:
    assert message_id_from_header("<01J@kontakt>") == "01J"
    assert message_id_from_header(" <01J@kontakt> ") == "01J"
    assert message_id_from_header("<@kontakt>") is None
    assert message_id_from_header("<01J@other>") is None
    assert message_id_from_header(None) is None


def test_soft_bounce_limit() -> None:
    assert not soft_limit_reached(2, 3)
    assert soft_limit_reached(3, 3)
    assert soft_limit_reached(1, 0)  # a limit below one counts as one
