"""Real-world mail (corpus/README.md: where each message comes from) parsed as a ticket needs it:
every message parses without an exception into a subject or body (or the unparsable flag), and the
hard cases give what a person reading the mail would see."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.scanner.domain.mime import parse

from .samples import CORPUS, corpus, corpus_files


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_message_parses_into_something_to_show(path: Path) -> None:
    raw = path.read_bytes()
    message = parse(raw)
    assert not message.unparsable
    assert message.subject or message.text or message.html or message.attachments, "nothing to show"
    assert message.size == len(raw)
    assert message.attachments_size == sum(a.size for a in message.attachments)
    for attachment in message.attachments:
        assert attachment.data is not None and len(attachment.data) == attachment.size
        assert attachment.filename and "/" not in attachment.filename
    assert "<script" not in (message.html or "").lower()
    message.model_dump_json()  # crosses the boundary as JSON


def test_the_corpus_is_large_enough_and_small_enough_for_the_repository() -> None:
    files = corpus_files()
    assert len(files) >= 90
    assert sum(p.stat().st_size for p in files) < 3 * 1024 * 1024


# ---------------------------------------------------------------- headers


def test_encoded_words_in_a_charset_python_does_not_know_by_that_name() -> None:
    message = parse(corpus("php-mime-mail-parser/issue149"))  # =?iso-8859-8-i?B?...?=
    assert message.subject == "מענה 'אני לא נמצא': Invoice 02722027"


def test_iso_2022_jp_encoded_word_with_microsoft_extensions_decodes_without_escape_sequences() -> None:
    message = parse(corpus("php-mime-mail-parser/issue116"))
    assert message.subject.startswith("ЖД")
    assert message.subject.endswith("41 от 28.09.2016")
    assert "\x1b" not in message.subject


def test_quoted_printable_encoded_words_in_a_subject() -> None:
    assert parse(corpus("php-mime-mail-parser/m0022")).subject == "[PRJ-OTH] asdf árvíztűrő tükörfúrógép"


def test_rfc_2231_file_name_in_utf_8() -> None:
    message = parse(corpus("php-mime-mail-parser/issue274.eml"))
    assert "Cours-Tutoriels-Serge-Tahé-1568x268.png" in [a.filename for a in message.attachments]


def test_rfc_2231_continuations_in_a_parameter() -> None:
    message = parse(corpus("pecl-mailparse/rfc2231.txt"))
    assert message.content_type == "message/external-body"
    assert message.subject == "mime attach"


def test_addresses_date_and_ids() -> None:
    message = parse(corpus("cpython/msg_44.txt"))
    assert [(a.name, a.email) for a in message.from_] == [("Barry A. Warsaw", "barry@python.org")]
    assert message.message_id == "<15261.36209.358846.118674@anthem.python.org>"
    assert message.date is not None and message.date.isoformat() == "2001-09-11T00:05:05-04:00"


def test_an_impossible_date_is_none_not_an_error() -> None:
    message = parse(corpus("cpython/msg_47.txt"))  # 27:39:33
    assert message.date is None
    assert message.text == "### PHARRMACY ON1INE 24/7 ###"


def test_headers_without_the_blank_line_after_them() -> None:
    message = parse(corpus("cpython/msg_35.txt"))
    assert message.subject == "here's something interesting"
    assert "counter to RFC 5322" in message.text


# ---------------------------------------------------------------- bodies and charsets


def test_utf_8_label_on_windows_1250_text_falls_back_to_what_the_bytes_are() -> None:
    message = parse(corpus("php-mime-mail-parser/m0022"))
    assert "Det här är ett flerdelat meddelande i MIME-format." in message.text
    assert "\ufffd" not in message.text
    assert any("charset 'utf-8' decoded as" in d for d in message.defects)


def test_only_html_gets_a_plain_text_version_and_keeps_its_cid_image() -> None:
    message = parse(corpus("php-mime-mail-parser/m0129"))
    assert message.text == "Inline"
    cid = "c024cb5b0c6eaf060a837c53db9af39b5b564d3956b8d4223fbf308b11b4e79e"
    assert f'src="cid:{cid}"' in (message.html or "")
    (image,) = message.attachments
    assert (image.filename, image.content_type, image.content_id) == ("image.png", "image/png", cid)


def test_inline_images_of_multipart_related_keep_their_content_ids() -> None:
    message = parse(corpus("php-mime-mail-parser/m0008"))
    images = {a.content_id: a for a in message.attachments if a.content_id}
    assert set(images) == {"ae0357e57f04b8347f7621662cb63855.jpg", "4c837ed463ad29c820668e835a270e8a.jpg"}
    assert all(a.inline for a in images.values())
    assert 'src="cid:ae0357e57f04b8347f7621662cb63855.jpg"' in (message.html or "")  # the other is a td background
    assert "attachment.txt" in [a.filename for a in message.attachments]


def test_html_from_a_real_newsletter_loads_no_remote_image() -> None:
    message = parse(corpus("php-mime-mail-parser/m0015"))
    assert message.blocked_images and all(u.startswith("https://") for u in message.blocked_images)
    assert "cloudfront.net" not in (message.html or "")


def test_the_same_boundary_for_two_nested_multiparts() -> None:
    message = parse(corpus("cpython/msg_15.txt"))
    assert message.text == "Some removed test."


def test_missing_and_unfinished_boundaries_keep_the_text() -> None:
    assert "Hi This is a broken message" in parse(corpus("flanker/missing-boundaries.eml")).text
    assert parse(corpus("flanker/missing-final-boundary.eml")).text == "Some body"


def test_text_parts_with_a_name_and_no_disposition_are_the_body() -> None:
    message = parse(corpus("cpython/msg_44.txt"))
    assert message.text.count("a simple kind of mirror") == 2


def test_russian_text_in_koi8_and_utf_8() -> None:
    assert "А эта линия по-русски." in parse(corpus("flanker/bilingual-simple.eml")).text  # noqa: RUF001
    assert parse(corpus("flanker/mailgun-pic.eml")).text.startswith("Мейлган! Хахах!")  # noqa: RUF001


# ---------------------------------------------------------------- attachments


def test_uuencoded_files_in_an_outlook_express_text_body() -> None:
    message = parse(corpus("pecl-mailparse/oeuue"))
    assert [(a.filename, a.source) for a in message.attachments] == [
        ("README1.dat", "uuencode"),
        ("README2.dat", "uuencode"),
        ("README3.dat", "uuencode"),
    ]
    assert message.attachments[0].data is not None and message.attachments[0].data.startswith(b"FooBar - Baaaaa")
    assert "begin 6" not in message.text and message.text.startswith("Hello!")


def test_x_uuencode_content_transfer_encoding() -> None:
    message = parse(corpus("pecl-mailparse/uue.txt"))
    assert [a.filename for a in message.attachments] == ["README.dat"]
    assert message.attachments[0].data is not None and message.attachments[0].data.startswith(b"FooBar - Baaaaa")


def test_tnef_winmail_dat_is_kept_and_its_files_extracted() -> None:
    message = parse(corpus("tnefparse/two-files.eml"))
    assert [(a.filename, a.source) for a in message.attachments] == [
        ("winmail.dat", "mime"),
        ("AUTHORS", "tnef"),
        ("README", "tnef"),
    ]
    assert message.attachments[0].size == 3481  # tnefparse's tests/examples/two-files.tnef


def test_tnef_body_becomes_the_text_of_an_outlook_mail_without_one() -> None:
    message = parse(corpus("tnefparse/body.eml"))
    assert message.text.startswith("THE BILL OF RIGHTS")
    assert [a.filename for a in message.attachments] == ["winmail.dat"]


def test_a_winmail_dat_that_is_not_tnef_stays_an_attachment() -> None:
    raw = corpus("tnefparse/two-files.eml").replace(b"eJ8+I", b"AAAAA", 1)  # the TNEF signature broken
    message = parse(raw)
    assert [a.filename for a in message.attachments] == ["winmail.dat"]
    assert "winmail.dat did not parse as TNEF" in message.defects


def test_nested_message_is_an_attachment_and_its_text_is_kept() -> None:
    message = parse(corpus("php-mime-mail-parser/issue158a"))
    (forwarded,) = message.attachments
    assert (forwarded.filename, forwarded.content_type) == ("Test 5.eml", "message/rfc822")
    assert forwarded.message is not None and forwarded.message.subject == "Test 5"
    assert forwarded.message.text.startswith("An original PLAIN TEXT message body")


def test_a_path_in_a_file_name_is_dropped() -> None:
    message = parse(corpus("php-mime-mail-parser/m0027"))
    assert [a.filename for a in message.attachments] == ["1234.txt"]


def test_three_hundred_attachments() -> None:
    message = parse(corpus("php-mime-mail-parser/issue408.eml"))
    assert len(message.attachments) > 300
    assert message.text == "test"
