"""Loop safety: each sign of a machine-sent mail is recognised, with its reason; a person's mail is
not; bounces name the mail they answer (real bounces from the corpus)."""

from __future__ import annotations

import pytest

from services.scanner.domain.automatic import classify
from services.scanner.domain.mime import parse

from .samples import corpus

OURS = "support@acme.kontakt.example"


def message(headers: str, sender: str = "Matti Meikäläinen <matti@example.fi>") -> bytes:
    return f"From: {sender}\nTo: {OURS}\nSubject: Hei\nMessage-ID: <p1@example.fi>\n{headers}\n\nHei!\n".encode()


def test_a_persons_mail_is_not_automatic() -> None:
    result = classify(parse(message("Auto-Submitted: no\nPrecedence: normal")), our_addresses=[OURS])
    assert not result and result.reasons == [] and result.bounce is None


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ("Auto-Submitted: auto-replied", "auto-submitted"),
        ("Auto-Submitted: auto-generated; owner-email=x@y", "auto-submitted"),
        ("Auto-Submitted: Auto-Notified", "auto-submitted"),
        ("Precedence: bulk", "precedence"),
        ("Precedence: list", "precedence"),
        ("Precedence: junk", "precedence"),
        (f"X-Loop: {OURS}", "x-loop"),
        (f"X-Loop: Kontakt <{OURS.upper()}>", "x-loop"),
        ("X-Autoreply: yes", "x-autoreply"),
        ("X-Autorespond: Out of office", "x-autorespond"),
        ("X-Auto-Response-Suppress: All", "x-auto-response-suppress"),
        ("X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply", "x-auto-response-suppress"),
        ("List-Id: Announcements <news.example.fi>", "list-id"),
        ("List-Unsubscribe: <mailto:leave@example.fi>", "list-unsubscribe"),
        ("Return-Path: <>", "system-sender"),
    ],
)
def test_each_header_of_an_automatic_mail_is_a_reason(headers: str, code: str) -> None:
    result = classify(parse(message(headers)), our_addresses=[OURS])
    assert result.automatic
    assert [r.code for r in result.reasons] == [code]
    assert headers.split(":")[0] in result.reasons[0].detail or code == "system-sender"


@pytest.mark.parametrize(
    "headers",
    [
        "X-Loop: someone-else@example.org",
        "X-Auto-Response-Suppress: None",
        "Precedence: first-class",
        "X-Autoreply: no",
    ],
)
def test_harmless_values_of_those_headers_are_not(headers: str) -> None:
    assert not classify(parse(message(headers)), our_addresses=[OURS])


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.fi",
        "Mail Delivery System <mailer-daemon@googlemail.com>",
        "postmaster@example.fi",
        "no-reply@example.fi",
        "noreply@example.fi",
        "do-not-reply@example.fi",
        "donotreply@example.fi",
        "no_reply+tickets@example.fi",
    ],
)
def test_system_senders(sender: str) -> None:
    result = classify(parse(message("", sender=sender)))
    assert [r.code for r in result.reasons] == ["system-sender"]


@pytest.mark.parametrize("sender", ["noreen@example.fi", "replyall@example.fi", "postmasters-club@example.fi"])
def test_people_whose_names_look_alike_are_not_system_senders(sender: str) -> None:
    assert not classify(parse(message("", sender=sender)))


def test_our_own_message_come_back() -> None:
    raw = message("").replace(b"<p1@example.fi>", b"<t-123.abc@kontakt.example>")
    result = classify(parse(raw), is_our_message_id=lambda mid: mid.endswith("@kontakt.example>"))
    assert [r.code for r in result.reasons] == ["own-message"]
    assert not classify(parse(message("")), is_our_message_id=lambda mid: mid.endswith("@kontakt.example>"))


def test_several_reasons_are_all_given() -> None:
    result = classify(parse(message("Auto-Submitted: auto-replied\nX-Autoreply: yes", sender="noreply@x.fi")))
    assert [r.code for r in result.reasons] == ["auto-submitted", "x-autoreply", "system-sender"]


@pytest.mark.parametrize(
    ("name", "original"),
    [
        ("flanker/bounce-zed.eml", "<20090708054735.GC7578@example.com>"),  # Postfix, the original attached
        ("flanker/bounce-mailbox-full.eml", "<4E326A95.3010907@example.com>"),  # AOL, text/rfc822-headers
        ("flanker/bounce-no-mx.eml", "<19E44CA63F984902B7D654F8FF40F89D@bo>"),
        ("flanker/bounce-office365.eml", "<20171013111011.20866.254C2F3A4D7AA526@ninomail.com>"),
    ],
)
def test_bounces_name_the_mail_they_answer(name: str, original: str) -> None:
    result = classify(parse(corpus(name)))
    assert result.automatic and "report" in [r.code for r in result.reasons]
    assert result.bounce is not None and result.bounce.original_message_id == original
    assert result.bounce.recipients and result.bounce.recipients[0]["action"].lower() in ("failed", "delayed")


def test_a_delay_report_is_a_bounce_that_did_not_fail() -> None:
    result = classify(parse(corpus("flanker/bounce-no-mx.eml")))
    assert result.bounce is not None and not result.bounce.failed
    assert classify(parse(corpus("flanker/bounce-zed.eml"))).bounce.failed  # type: ignore[union-attr]


def test_a_read_receipt_and_a_feedback_report_are_automatic_but_not_bounces() -> None:
    receipt = parse(corpus("flanker/disposition-notification.eml"))
    assert receipt.report is not None and receipt.report.original_message_id == "<199509192301.23456@example.org>"
    for name in ("flanker/disposition-notification.eml", "flanker/complaints-yahoo.eml"):
        result = classify(parse(corpus(name)))
        assert result.automatic and result.bounce is None


def test_a_text_bounce_from_a_mailer_daemon_is_automatic() -> None:
    result = classify(parse(corpus("flanker/bounce-gmail-invalid-address.eml")))
    assert "system-sender" in [r.code for r in result.reasons]


def test_mailing_list_mail_from_the_corpus() -> None:
    result = classify(parse(corpus("pecl-mailparse/phpcvs1.txt")))
    assert [r.code for r in result.reasons] == ["precedence", "list-unsubscribe"]
