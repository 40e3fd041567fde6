"""What `parse` promises beyond the corpus: broken headers, the HTML an agent is shown, the new text
of a reply, the 25 MB rule, the unparsable fallback and when attachments are stored."""

from __future__ import annotations

import base64

import pytest

from services.scanner.domain import mime
from services.scanner.domain.html import sanitise
from services.scanner.domain.mime import MAX_MESSAGE_BYTES, Attachment, AttachmentStoreError, parse
from services.scanner.domain.replies import new_text

from .samples import corpus


def mail(headers: str, body: str = "Hello\n", content_type: str = "text/plain; charset=utf-8") -> bytes:
    return (f"From: a@example.com\n{headers}\nContent-Type: {content_type}\n\n{body}").encode()


# ---------------------------------------------------------------- broken encoded words


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("=?utf-8?q?Hyv=C3=A4=C3=A4_p=C3=A4iv=C3=A4=C3=A4?=", "Hyvää päivää"),
        ("=?x-unknown?Q?Caf=E9?=", "Café"),  # an unknown label: the bytes' own charset
        ("=?iso-8859-1?Q?K=C3=A4ytt=C3=A4j=C3=A4?=", "Käyttäjä"),  # labelled Latin-1, bytes UTF-8
        ("=?utf-8?B?SGVsbG8gd29ybGQ=?==?utf-8?B?IQ==?=", "Hello world!"),  # adjacent words, no space
        ("=?utf-8?B?not base64!!?=", "=?utf-8?B?not base64!!?="),  # a broken word stays as written
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
    ],
)
def test_encoded_words_good_and_broken(subject: str, expected: str) -> None:
    assert parse(mail(f"Subject: {subject}")).subject == expected


def test_raw_utf_8_in_headers() -> None:
    raw = "From: Jyrki Hämäläinen <jyrki@example.fi>\nSubject: Tilaus 1234 \u2013 kiitos\n\nok\n".encode()
    message = parse(raw)
    assert message.subject == "Tilaus 1234 \u2013 kiitos"
    assert [(a.name, a.email) for a in message.from_] == [("Jyrki Hämäläinen", "jyrki@example.fi")]


def test_raw_latin_1_in_headers() -> None:
    raw = "From: =?utf-8?q?x?= <x@example.com>\nSubject: Päivää\n\nok\n".encode("latin-1")
    assert parse(raw).subject == "Päivää"


def test_rfc_2231_file_name_with_continuations_and_charset() -> None:
    raw = (
        b"From: a@example.com\nSubject: files\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee\n--b\n'
        b"Content-Type: application/pdf\nContent-Disposition: attachment;\n"
        b" filename*0*=utf-8''Ty%C3%B6sopimus%20;\n filename*1*=2026.pdf\n"
        b"Content-Transfer-Encoding: base64\n\nJVBERi0=\n--b--\n"
    )
    (attachment,) = parse(raw).attachments
    assert (attachment.filename, attachment.content_type) == ("Työsopimus 2026.pdf", "application/pdf")
    assert attachment.size == 5


def test_in_reply_to_and_references() -> None:
    message = parse(
        mail("Message-ID: <m3@example.com>\nIn-Reply-To: <m2@kontakt>\nReferences: <m1@kontakt>\n <m2@kontakt>")
    )
    assert (message.message_id, message.in_reply_to, message.references) == (
        "<m3@example.com>",
        ["<m2@kontakt>"],
        ["<m1@kontakt>", "<m2@kontakt>"],
    )


@pytest.mark.parametrize("label", ["x-unknown", "utf-8", "us-ascii", "base64"])
def test_a_body_whose_label_is_wrong_or_unknown(label: str) -> None:
    body = "Hyvää päivää, kiitos viestistä!".encode("cp1252")
    raw = b"From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=" + label.encode() + b"\n\n" + body
    assert parse(raw).text == "Hyvää päivää, kiitos viestistä!"


# ---------------------------------------------------------------- HTML


def test_sanitised_html_keeps_text_links_and_cid_images_and_drops_what_runs_or_loads() -> None:
    html = (
        '<html><head><style>body{background:url("https://t.example/s.png")}</style>'
        '<link rel="stylesheet" href="https://t.example/c.css"></head>'
        '<body onload="steal()"><p style="color:red">Hei <b>Matti</b></p>'
        '<img src="https://t.example/pixel.gif" alt="pixel"><img src="cid:logo@x">'
        '<a href="https://example.fi/tilaus" onclick="x()">tilaus</a>'
        '<div style="background-image: url(https://t.example/b.png)">tausta</div>'
        '<script>alert(1)</script><iframe src="https://t.example"></iframe>'
        '<a href="javascript:alert(1)">js</a><form action="https://t.example"><input name="p"></form>'
        '<img src="//t.example/p2.gif"></body></html>'
    )
    clean = sanitise(html)
    assert clean.blocked == ["https://t.example/pixel.gif"]  # the relative //t.example/p2.gif is dropped too
    assert "t.example" not in clean.html and "script" not in clean.html and "on" + "load" not in clean.html
    assert "javascript" not in clean.html and "<form" not in clean.html and "url(" not in clean.html
    assert '<p style="color:red">Hei <b>Matti</b></p>' in clean.html
    assert '<img src="cid:logo@x">' in clean.html
    assert '<a href="https://example.fi/tilaus" target="_blank" rel="noopener noreferrer">tilaus</a>' in clean.html


def test_an_html_only_mail_gets_a_plain_text_version() -> None:
    raw = mail("Subject: x", "<p>Hei,</p><ul><li>yksi</li><li>kaksi</li></ul>", "text/html; charset=utf-8")
    message = parse(raw)
    assert message.text == "Hei,\n\n  * yksi\n  * kaksi"
    assert message.html is not None and "<li>yksi</li>" in message.html


# ---------------------------------------------------------------- the new text of a reply


@pytest.mark.parametrize(
    ("text", "new"),
    [
        (
            "Kiitos, toimii nyt.\n\nma 1.12.2025 klo 10.15 Tuki <tuki@kontakt.fi> kirjoitti:\n> Kokeile uudelleen.\n",
            "Kiitos, toimii nyt.",
        ),
        (
            "Kiitos!\n\nLähettäjä: Tuki <tuki@kontakt.fi>\nLähetetty: maanantai 1. joulukuuta 2025 10.15\n"
            "Vastaanottaja: Matti\nAihe: RE: Ongelma\n\nKokeile uudelleen.\n",
            "Kiitos!",
        ),
        (
            "Tack, det fungerar.\n\nDen 1 dec. 2025 kl. 10:15 skrev Support <s@kontakt.se>:\n> Prova igen.\n",
            "Tack, det fungerar.",
        ),
        ("Thanks!\n\nOn Mon, Dec 1, 2025 at 10:15 AM Support <s@k.com> wrote:\n> Try again.\n", "Thanks!"),
        ("Works now.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nTry again.\n", "Works now."),
        ("No history here.\n", "No history here."),
    ],
)
def test_the_new_text_of_a_reply_apart_from_the_quoted_history(text: str, new: str) -> None:
    assert new_text(text) == new
    message = parse(mail("Subject: Re: x", text))
    assert (message.text, message.new_text) == (text.strip("\n"), new)


# ---------------------------------------------------------------- size, storage, the unparsable


def big_mail(size: int) -> bytes:
    data = base64.encodebytes(b"\0" * size)
    return (
        b"From: a@example.com\nSubject: big\nMessage-ID: <big@example.com>\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: application/octet-stream\n"
        b"Content-Disposition: attachment; filename=big.bin\nContent-Transfer-Encoding: base64\n\n" + data + b"--b--\n"
    )


def test_over_25_mb_of_files_is_oversize_and_nothing_is_stored() -> None:
    stored: list[str] = []
    message = parse(big_mail(MAX_MESSAGE_BYTES + 1), store=lambda a, data: stored.append(a.filename) or "key")
    assert message.oversize and not message.unparsable
    assert (message.subject, message.message_id, message.from_address) == ("big", "<big@example.com>", "a@example.com")
    assert message.attachments == [] and message.text == "" and stored == []
    assert message.attachments_size == MAX_MESSAGE_BYTES + 1


def test_exactly_25_mb_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mime, "MAX_MESSAGE_BYTES", 1000)
    assert not parse(big_mail(1000)).oversize
    assert parse(big_mail(1001)).oversize


def test_a_source_over_the_raw_limit_is_oversize_from_its_headers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mime, "MAX_RAW_BYTES", 2000)
    message = parse(big_mail(5000))
    assert message.oversize and message.subject == "big" and message.size > 2000
    assert mime.is_oversize(2001) and not mime.is_oversize(2000)


def test_store_is_called_once_per_file_after_the_whole_message_parsed() -> None:
    calls: list[tuple[str, int]] = []

    def store(attachment: Attachment, data: bytes) -> str:
        calls.append((attachment.filename, len(data)))
        return f"s3://bucket/{attachment.sha256}"

    message = parse(corpus("tnefparse/two-files.eml"), store=store)
    assert calls == [("winmail.dat", 3481), ("AUTHORS", 244), ("README", 893)]
    assert all(a.data is None and a.stored_as == f"s3://bucket/{a.sha256}" for a in message.attachments)


def test_a_failing_store_is_the_callers_error_not_an_unparsable_message() -> None:
    def store(attachment: Attachment, data: bytes) -> str:
        raise OSError("S3 is down")

    with pytest.raises(AttachmentStoreError, match="S3 is down"):
        parse(corpus("tnefparse/two-files.eml"), store=store)


def test_a_message_that_cannot_be_parsed_keeps_its_raw_source(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, raw: bytes) -> None:
        raise RecursionError("the parser gave up")

    monkeypatch.setattr(mime._Parser, "message", broken)
    raw = corpus("flanker/iphone.eml")
    message = parse(raw)
    assert message.unparsable and message.subject == "Subject"
    (source,) = message.attachments
    assert (source.filename, source.content_type, source.source) == ("message.eml", "message/rfc822", "raw")
    assert source.data == raw


def test_a_nesting_bomb_is_cut_at_the_depth_limit_and_kept() -> None:
    depth = 60
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{n}"\n\n--b{n}\n' for n in range(depth))
    tail = "".join(f"\n--b{n}--\n" for n in reversed(range(depth)))
    raw = f"From: a@example.com\nSubject: deep\n{head}Content-Type: text/plain\n\ndeep text\n{tail}".encode()
    message = parse(raw)
    assert not message.unparsable and message.subject == "deep"
    assert f"parts nested deeper than {mime.MAX_DEPTH}: kept as one attachment" in message.defects
    assert [a.filename for a in message.attachments] == ["parts.eml"]
    assert b"deep text" in (message.attachments[0].data or b"")


def test_a_part_count_bomb_is_cut_at_the_parts_limit() -> None:
    parts = "".join(f"--b\nContent-Type: application/octet-stream; name=f{n}.bin\n\nx\n" for n in range(700))
    raw = f'From: a@example.com\nSubject: many\nContent-Type: multipart/mixed; boundary="b"\n\n{parts}--b--\n'.encode()
    message = parse(raw)
    assert len(message.attachments) == mime.MAX_PARTS - 1  # the multipart itself is one of the parts
    assert f"more than {mime.MAX_PARTS} parts: the rest is only in the raw source" in message.defects
