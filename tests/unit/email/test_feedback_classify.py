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
        "headers": [{"name": "From", "value": "a@kontakt.dev"}, {"name": "Message-ID", "value": "<m1@kontakt>"}],
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


def test_delivery_open_and_click() -> None:
    delivered = classify({"eventType": "Delivery", "mail": _mail(), "delivery": {"recipients": ["anna@example.com"]}})
    opened = classify({"eventType": "Open", "mail": _mail(), "open": {"timestamp": "2026-11-24T11:00:00Z"}})
    clicked = classify({"eventType": "Click", "mail": _mail(), "click": {"link": "https://kontakt.dev/x"}})
    assert [r.kind for r in delivered + opened + clicked] == [Kind.delivered, Kind.opened, Kind.clicked]
    assert not any(r.suppresses for r in delivered + opened + clicked)
    assert clicked[0].url == "https://kontakt.dev/x"
    assert clicked[0].key == ("m1", "clicked", "anna@example.com", "https://kontakt.dev/x")
    assert opened[0].key == ("m1", "opened", "anna@example.com")


def test_events_we_do_not_record_and_mail_that_is_not_ours() -> None:
    assert classify({"eventType": "Send", "mail": _mail()}) == []
    assert classify({"eventType": "Rendering Failure", "mail": _mail()}) == []
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
