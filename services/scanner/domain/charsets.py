"""Text of any declared charset, and of none (pure): the codec Python knows by that name, with a fallback
for unknown names and for bytes that are not what their label says.

- A name Python knows (`codecs.lookup`, which also knows the WHATWG/IANA aliases mail uses) decodes
  strictly; a few labels that mail clients write and Python does not know are mapped to their codec.
- Bytes that fail the declared codec, or an unknown/absent label on non-ASCII bytes: valid UTF-8
  first (the most common mislabel), then charset-normalizer's best guess, then cp1252 with
  replacement characters, which never fails.
- A single-byte label (Latin-1, cp1252...) never fails to decode, so a UTF-8 text labelled Latin-1
  would become mojibake: when such bytes are valid UTF-8 and not plain ASCII, UTF-8 is taken.
"""

from __future__ import annotations

import codecs
from functools import cache

from charset_normalizer import from_bytes

# Labels mail clients write that Python does not know, and what they mean.
ALIASES = {
    "iso-8859-8-i": "iso8859_8",  # logical-order Hebrew: the same bytes
    "iso-8859-6-i": "iso8859_6",
    "iso-8859-8-e": "iso8859_8",
    "iso-8859-6-e": "iso8859_6",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "x-mac-roman": "mac_roman",
    "x-mac-ce": "mac_latin2",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "x-euc-jp": "euc_jp",
    "x-gbk": "gb18030",
    "gb2312": "gb18030",  # senders label GBK/GB18030 text GB2312; GB18030 decodes all three
    "gbk": "gb18030",
    "x-sjis": "cp932",
    "shift_jis": "cp932",  # Windows senders' Shift_JIS is cp932 (its NEC/IBM extensions)
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "big5": "big5hkscs",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "iso-8859-1": "cp1252",  # WHATWG: browsers and mail clients read Latin-1 labels as cp1252
    "latin1": "cp1252",
    "us-ascii": "ascii",
}
# Codecs Python has that are not a text's charset, whatever a header says.
NOT_CHARSETS = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"}
# Codecs that decode any bytes: a valid UTF-8 text under one of these labels is UTF-8 mislabelled.
SINGLE_BYTE = {
    *("cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1257", "koi8_r", "koi8_u"),
    *(f"iso8859_{n}" for n in (1, 2, 4, 5, 7, 9, 13, 15)),
}
FALLBACK = "cp1252"
# Bytes: below this charset-normalizer guesses wildly (a Finnish word as Chinese, Russian as Czech), so
# a short text of unknown charset is read as cp1252 (a header gets its body's charset first).
SHORT = 64
CANDIDATES = [
    *("cp1252", "iso8859_15", "cp1250", "iso8859_2", "cp1257", "iso8859_4"),
    *("cp1251", "koi8_r", "koi8_u", "iso8859_5"),
    *("cp1253", "iso8859_7", "cp1254", "cp1255", "iso8859_8", "cp1256", "cp874", "cp1258"),
    *("cp932", "euc_jp", "iso2022_jp", "gb18030", "big5", "cp949", "euc_kr"),
]


@cache
def codec(label: str | None) -> str | None:
    """The Python codec for a charset label, or None when unknown (or not a text charset)."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
        "a".encode(info.name)  # LookupError for the bytes-to-bytes codecs (base64, hex, rot13...)
    except (LookupError, ValueError, UnicodeError):
        return None
    return None if info.name.replace("-", "_") in NOT_CHARSETS else info.name


def decode(data: bytes, label: str | None) -> tuple[str, str]:
    """(text, the codec that decoded it): never raises."""
    name = codec(label)
    if name is not None:
        if name.replace("-", "_") in SINGLE_BYTE and not data.isascii():
            utf8 = _strict(data, "utf-8")
            if utf8 is not None:
                return utf8, "utf-8"
        text = _strict(data, name)
        if text is not None:
            return text, name
        if name.startswith("iso2022_jp"):  # 7-bit: any bytes would pass as UTF-8; the JIS supersets instead
            return _iso2022_jp(data)
    elif data.isascii() and b"\x1b$" in data:
        return _iso2022_jp(data)
    elif data.isascii():
        return data.decode("ascii"), "ascii"
    return guess(data, name)


def guess(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Bytes whose label is absent, unknown or wrong: UTF-8, charset-normalizer's guess, cp1252."""
    text = _strict(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    if len(data) < SHORT:  # too little for a detector to tell: a Western single-byte text
        text = _strict(data, FALLBACK)
        if text is not None:
            return text, FALLBACK
    try:
        # A sample (detection is slow in Python), among the charsets mail is written in: left free, the
        # detector takes a short Finnish text for a DOS code page or UTF-16.
        best = from_bytes(data[: 256 * 1024], cp_isolation=CANDIDATES).best()
        if best is not None and best.encoding:
            text = _strict(data, best.encoding)
            if text is not None:
                return text, best.encoding
    except Exception:  # a detector's bug is no reason to lose the text
        pass
    name = declared or FALLBACK
    return data.decode(name, errors="replace"), name


def fix_surrogates(text: str, hint: str | None = None) -> str:
    """A header that the email package decoded with surrogateescape (raw 8-bit bytes in it) decoded
    again as text: UTF-8 (RFC 6532), else the charset of the message's body (`hint`, as mail clients
    read such headers), else whatever the bytes are; raw ISO-2022-JP decoded."""
    if "\x1b$" in text and text.isascii():  # raw ISO-2022-JP (7-bit escapes), unlabelled, as Japanese clients write
        return _iso2022_jp(text.encode("ascii"))[0]
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    data = text.encode("utf-8", errors="surrogateescape")
    hinted = codec(hint)
    if hinted is not None and _strict(data, "utf-8") is None:
        decoded = _strict(data, hinted)
        if decoded is not None:
            return decoded
    return guess(data)[0]


def _strict(data: bytes, name: str) -> str | None:
    try:
        return data.decode(name)
    except (UnicodeError, LookupError):
        return None


def _iso2022_jp(data: bytes) -> tuple[str, str]:
    """ISO-2022-JP and the extensions senders use under its name (Microsoft's CP50220 rows are not in
    Python: their characters become U+FFFD rather than escape sequences)."""
    for name in ("iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_2"):
        text = _strict(data, name)
        if text is not None:
            return text, name
    return data.decode("iso2022_jp_2", errors="replace"), "iso2022_jp_2"
