# ruff: noqa: RUF001 - texts in many scripts are the point of this file
"""Every charset Python knows decodes a body and an encoded word written in it, and the fallback
reads what an unknown or wrong label hides."""

from __future__ import annotations

import base64
import encodings.aliases

import pytest

from services.scanner.domain import charsets
from services.scanner.domain.mime import parse

NOT_TEXT = {"base64_codec", "bz2_codec", "hex_codec", "quopri_codec", "rot_13", "uu_codec", "zlib_codec", "mbcs"}
CODECS = sorted(set(encodings.aliases.aliases.values()) - NOT_TEXT)
RUSSIAN = "Привет, как дела? Всё хорошо, спасибо. До встречи завтра! Увидимся в офисе."
SAMPLES = [
    "Hyvää päivää, kiitos viestistä!",
    "Привет, как дела? Всё хорошо.",
    "こんにちは、お元気ですか。",
    "你好，最近怎么样？",
    "안녕하세요, 잘 지내세요?",
    "Γειά σου, τι κάνεις;",
    "שלום, מה שלומך?",
    "مرحبا، كيف حالك؟",
    "สวัสดีครับ สบายดีไหม",
    "Merhaba, nasılsın? Çok güzel.",
    "Dzień dobry, zażółć gęślą jaźń.",
    "Xin chào, bạn khỏe không?",
    "Hello, how are you?",
]


def sample_for(codec: str) -> str:
    for text in SAMPLES:
        try:
            text.encode(codec)
        except UnicodeError:
            continue
        return text
    raise AssertionError(f"no sample for {codec}")


def test_the_list_covers_pythons_charsets() -> None:
    assert len(CODECS) > 80 and {"cp1252", "iso8859_15", "koi8_r", "shift_jis", "gb18030", "utf_16"} <= set(CODECS)


@pytest.mark.parametrize("codec", CODECS)
def test_a_body_and_a_subject_in_every_charset_python_knows(codec: str) -> None:
    text = sample_for(codec)
    data = text.encode(codec)
    word = f"=?{codec}?B?{base64.b64encode(data).decode()}?="
    raw = (
        f"From: a@example.com\nSubject: {word}\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset={codec}\nContent-Transfer-Encoding: base64\n\n"
    ).encode() + base64.encodebytes(data)
    message = parse(raw)
    assert message.text == text
    assert message.subject == " ".join(text.split())


@pytest.mark.parametrize(
    ("data", "label", "text"),
    [
        ("Hyvää päivää".encode("cp1252"), "utf-8", "Hyvää päivää"),  # a UTF-8 label on cp1252 bytes
        ("Hyvää päivää".encode(), "iso-8859-1", "Hyvää päivää"),  # a Latin-1 label on UTF-8 bytes
        ("Hyvää päivää".encode(), "windows-1252", "Hyvää päivää"),
        ("Hyvää päivää".encode("cp1252"), None, "Hyvää päivää"),
        ("Hyvää päivää".encode("cp1252"), "x-user-defined", "Hyvää päivää"),
        (RUSSIAN.encode("cp1251"), "unknown-8bit", RUSSIAN),
        (RUSSIAN.encode("koi8_r"), None, RUSSIAN),
        (RUSSIAN.encode("iso8859_5"), "utf-8", RUSSIAN),
        (b"Hello", "base64", "Hello"),  # a codec that is not a charset
        (b"", "utf-8", ""),
    ],
)
def test_the_fallback_for_wrong_unknown_and_missing_labels(data: bytes, label: str | None, text: str) -> None:
    assert charsets.decode(data, label)[0] == text


def test_a_raw_8_bit_header_is_read_in_the_charset_of_the_body() -> None:
    raw = "From: Пётр <petr@example.ru>\nSubject: Привет\nContent-Type: text/plain; charset=koi8-r\n\nПривет\n"
    message = parse(raw.encode("koi8_r"))
    assert (message.subject, message.from_[0].name, message.text) == ("Привет", "Пётр", "Привет")


def test_a_short_text_of_unknown_charset_is_read_as_western() -> None:
    assert charsets.decode("Päivää".encode("cp1252"), None)[0] == "Päivää"


def test_labels_python_does_not_know_that_mail_uses() -> None:
    assert charsets.codec("iso-8859-8-i") == "iso8859-8"
    assert charsets.codec("windows-874") == "cp874"
    assert charsets.codec("ks_c_5601-1987") == "cp949"
    assert charsets.codec("x-unknown") is None and charsets.codec("base64") is None
