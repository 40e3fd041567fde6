"""Building the MIME mail of a message: headers, threading, alternatives, attachments, the limit."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest

from services.email.domain.messages import (
    MAX_TRANSACTIONAL_ATTACHMENTS,
    Mail,
    Part,
    Sender,
    Unbuildable,
    attachments_too_large,
    build_mime,
)
from tests.mail_wire import assert_one_click_on_the_wire, raw_header, strictly_parsed

NO_REPLY = Sender(from_address="no-reply@mail.example.com")  # the stack's default (services/email/settings.py)


def _parse(mail: Mail, sender: Sender | None = None):  # type: ignore[no-untyped-def]
    return message_from_bytes(build_mime(mail, sender or NO_REPLY).as_bytes(), policy=policy.default)


def test_headers_and_alternatives() -> None:
    mail = Mail(
        message_id="m-1",
        to="anna@example.com",
        to_name="Anna Ö",
        subject="Tervetuloa, välkommen",
        html="<p>Hei</p>",
        text="Hei",
        date=datetime(2026, 1, 2, tzinfo=UTC),
    )
    parsed = _parse(mail, Sender(from_address="sales@acme.fi", from_name="Acme", reply_to=["help@acme.fi"]))
    assert parsed["Message-ID"] == "<m-1@kontakt>"
    assert parsed["From"] == "Acme <sales@acme.fi>"
    assert parsed["To"] == "Anna Ö <anna@example.com>"
    assert parsed["Subject"] == "Tervetuloa, välkommen"
    assert parsed["Reply-To"] == "help@acme.fi"
    assert parsed["Date"].datetime == datetime(2026, 1, 2, tzinfo=UTC)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hei"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hei</p>"
    assert "In-Reply-To" not in parsed and "References" not in parsed and "List-Unsubscribe" not in parsed


def test_the_raw_mail_is_7_bit() -> None:
    raw = build_mime(
        Mail(message_id="m", to="a@b.fi", subject="Hyvää päivää", text="Hyvä", html="<p>Hyvä</p>"), NO_REPLY
    )
    assert raw.as_bytes().isascii()
    parsed = _parse(Mail(message_id="m", to="a@b.fi", subject="Hyvää päivää", text="Hyvä", html="<p>Hyvä</p>"))
    assert parsed["Subject"] == "Hyvää päivää"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hyvä"


def test_default_sender_and_request_reply_to_wins() -> None:
    parsed = _parse(Mail(message_id="m", to="a@b.fi", subject="s", text="t", reply_to=["x@b.fi", "y@b.fi"]))
    assert parsed["From"] == "no-reply@mail.example.com"
    assert parsed["Reply-To"] == "x@b.fi, y@b.fi"
    assert parsed.get_content_type() == "text/plain"


def test_threading_headers_end_with_the_parent() -> None:
    mail = Mail(message_id="m", to="a@b.fi", subject="Re: s", text="t", in_reply_to="p2@x", references=["<p1@x>"])
    parsed = _parse(mail)
    assert parsed["In-Reply-To"] == "<p2@x>"
    assert parsed["References"] == "<p1@x> <p2@x>"
    again = _parse(mail.model_copy(update={"references": ["<p1@x>", "<p2@x>"]}))
    assert again["References"] == "<p1@x> <p2@x>"


def test_extra_headers_and_attachments() -> None:
    mail = Mail(
        message_id="m",
        to="a@b.fi",
        subject="Lasku",
        text="Liitteenä lasku",
        html="<p>Liitteenä lasku</p>",
        headers={"List-Unsubscribe": "<https://u/x>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        attachments=[Part(name="lasku.pdf", content_type="application/pdf", content=b"%PDF-1.4 bytes")],
    )
    parsed = _parse(mail)
    assert parsed["List-Unsubscribe"] == "<https://u/x>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/mixed"
    files = list(parsed.iter_attachments())
    assert [(f.get_filename(), f.get_content_type(), f.get_content()) for f in files] == [
        ("lasku.pdf", "application/pdf", b"%PDF-1.4 bytes")
    ]
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Liitteenä lasku</p>"


def test_attachment_limit_is_25_mb_in_all() -> None:
    assert MAX_TRANSACTIONAL_ATTACHMENTS == 25 * 1024 * 1024
    assert not attachments_too_large([MAX_TRANSACTIONAL_ATTACHMENTS])
    assert not attachments_too_large([MAX_TRANSACTIONAL_ATTACHMENTS - 10, 10])
    assert attachments_too_large([MAX_TRANSACTIONAL_ATTACHMENTS, 1])
    assert attachments_too_large([20 * 1024 * 1024, 6 * 1024 * 1024])


@pytest.mark.parametrize(
    ("sender", "mail", "reason"),
    [
        ({"from_name": "Shop\r\nBcc: x@y.fi"}, {}, "The From name"),
        ({}, {"to_name": "Ann\nX"}, "The recipient's name"),
        ({}, {"subject": "Hi\rX"}, "The subject"),
        ({}, {"subject": "Hi\u2028X"}, "The subject"),
        ({"reply_to": ["a@b.fi\nX"]}, {}, "The Reply-To"),
        ({}, {"in_reply_to": "<a@b>\r\nX"}, "The In-Reply-To"),
        ({}, {"references": ["<a@b>", "<c\x00@d>"]}, "The References"),
        ({}, {"headers": {"List-Unsubscribe": "<https://x.example/u/a>\nX: y"}}, "A header"),
    ],
)
def test_a_header_field_with_a_control_character_makes_no_mail(
    sender: dict[str, Any], mail: dict[str, Any], reason: str
) -> None:
    """The sender fails such a mail with the reason (services/email/sending.py), never retries it."""
    built = Mail(**{"message_id": "m-1", "to": "anna@example.com", "subject": "Hi", **mail})
    with pytest.raises(Unbuildable, match=f"^{reason} contains a line break or another control character"):
        build_mime(built, Sender(**{"from_address": "no-reply@mail.example.com", **sender}))


# ----------------------------------------------------------------------------- on the wire (issue 15 part 3)

LINK = "https://abcdefghij.execute-api.eu-north-1.amazonaws.com/u/" + "A1b2C3d4E5" * 9
MAILTO = "mailto:unsubscribe@mail.example.com?subject=unsubscribe%20" + "A1b2C3d4E5" * 9
ONE_CLICK_HEADERS = {"List-Unsubscribe": f"<{LINK}>, <{MAILTO}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _raw(mail: Mail, sender: Sender | None = None) -> bytes:
    return build_mime(mail, sender or NO_REPLY).as_bytes()


def test_list_unsubscribe_goes_as_plain_ascii_folded_between_its_items() -> None:
    """RFC 8058: a mailbox provider reads the raw header; an encoded word there hides the link."""
    raw = _raw(Mail(message_id="m", to="a@b.fi", subject="Uutiskirje", html="<p>x</p>", headers=ONE_CLICK_HEADERS))
    assert assert_one_click_on_the_wire(raw) == [LINK, MAILTO]
    _, lines = raw_header(raw, "List-Unsubscribe")
    assert lines == [f"List-Unsubscribe: <{LINK}>,", f" <{MAILTO}>"]  # each item longer than 78: one a line


def test_non_ascii_subject_and_names_stay_encoded_words() -> None:
    sender = Sender(from_address="myynti@acme.fi", from_name="Äcme, Oy")
    mail = Mail(message_id="m", to="a@b.fi", to_name="Åsa Öberg", subject="Hyvää päivää " * 12, text="t")
    raw = _raw(mail.model_copy(update={"headers": ONE_CLICK_HEADERS}), sender)
    for name in ("Subject", "From", "To"):
        value, lines = raw_header(raw, name)
        assert "=?utf-8?" in value and all(len(line) <= 76 for line in lines), (name, lines)  # RFC 2047 2
    parsed = strictly_parsed(raw)
    assert parsed["Subject"] == mail.subject  # every space kept
    assert (parsed["From"].addresses[0].display_name, parsed["From"].addresses[0].addr_spec) == (
        "Äcme, Oy",
        "myynti@acme.fi",
    )
    assert parsed["To"].addresses[0].display_name == "Åsa Öberg"
    assert_one_click_on_the_wire(raw)


def test_long_ascii_headers_fold_at_whitespace_and_are_never_encoded() -> None:
    subject = " ".join(f"word{i}" for i in range(60))
    references = [f"<ref-{i}-{'x' * 20}@example.com>" for i in range(20)]
    items = ", ".join(f"<https://x.example/u/{i}{'y' * 60}>" for i in range(4))
    mail = Mail(
        message_id="m",
        to="a@b.fi",
        subject=subject,
        text="t",
        references=references,
        headers={"List-Unsubscribe": items, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    raw = _raw(mail)
    for name, expected in (("Subject", subject), ("References", " ".join(references))):
        value, lines = raw_header(raw, name)
        assert "=?" not in value and len(lines) > 1, (name, lines)
        assert all(len(line) <= 78 for line in lines), lines
        assert value == expected  # unfolding (CRLF removed) gives the value back, every space kept
    _, lines = raw_header(raw, "List-Unsubscribe")
    assert len(lines) == 4 and all(line.rstrip(",").strip().startswith("<") for line in lines[1:]), lines
    parsed = strictly_parsed(raw)
    assert parsed["Subject"] == subject and parsed["References"] == " ".join(references)
    assert assert_one_click_on_the_wire(raw) == [item.strip()[1:-1] for item in items.split(",")]
