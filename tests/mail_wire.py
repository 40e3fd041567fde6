"""Checks of a mail as it goes on the wire: its raw header section, not a parsed `Message`.

A parsed message decodes RFC 2047 words and unfolds lines, so it shows a `List-Unsubscribe` that
a mailbox provider reading the raw header never sees. These read the bytes: every header line is
ASCII and at most 998 characters (RFC 5322 2.1.1), `List-Unsubscribe` is a plain list of `<...>`
items (RFC 2369, RFC 8058) folded only between them, never an encoded word, and the whole mail
parses back without a defect under the stdlib's strict policy.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

MAX_LINE = 998
ITEMS = re.compile(r"<[^<>\s]+>(?:,[ \t]*<[^<>\s]+>)*")


def raw_fields(raw: bytes) -> list[tuple[str, list[str]]]:
    """The header section's fields, each as its name and its physical lines (folding kept)."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    fields: list[tuple[str, list[str]]] = []
    for line in re.split(r"\r?\n", head.decode("ascii")):  # a non-ASCII byte in a header fails here
        assert len(line) <= MAX_LINE, f"a header line of {len(line)} characters: {line[:80]}..."
        if line[:1] in (" ", "\t"):
            assert fields, "the header section starts with a continuation line"
            fields[-1][1].append(line)
        else:
            name, colon, _ = line.partition(":")
            assert colon and name and " " not in name, f"not a header field: {line!r}"
            fields.append((name, [line]))
    return fields


def raw_header(raw: bytes, name: str) -> tuple[str, list[str]]:
    """One field's value unfolded as the bytes say it (CRLF removed, nothing decoded), and its lines."""
    [lines] = [lines for field, lines in raw_fields(raw) if field.lower() == name.lower()]
    return "".join(lines).split(":", 1)[1].strip(), lines


def strictly_parsed(raw: bytes) -> EmailMessage:
    """The mail parsed back by the stdlib's strict policy: any defect raises."""
    mail: EmailMessage = message_from_bytes(raw, policy=policy.strict)  # type: ignore[assignment]
    for name, value in mail.items():
        assert not getattr(value, "defects", ()), (name, value.defects)  # reading a header raises on a defect
    for part in mail.walk():
        assert not part.defects, part.defects
    return mail


def assert_one_click_on_the_wire(raw: bytes) -> list[str]:
    """`List-Unsubscribe` and `List-Unsubscribe-Post` as RFC 8058 wants them in the raw mail; its links."""
    value, lines = raw_header(raw, "List-Unsubscribe")
    assert "=?" not in value, f"List-Unsubscribe is RFC 2047-encoded on the wire: {lines[0][:120]}"
    assert ITEMS.fullmatch(value), f"List-Unsubscribe is not a list of <...> items: {value[:120]}"
    assert re.match(r"List-Unsubscribe: <https?://", lines[0]), lines[0][:120]  # http: the local stack
    for previous, line in itertools.pairwise(lines):
        assert previous.endswith(">,") and line.lstrip().startswith("<"), "folded inside an item"
    post, _ = raw_header(raw, "List-Unsubscribe-Post")
    assert post == "List-Unsubscribe=One-Click"
    parsed = strictly_parsed(raw)
    assert str(parsed["List-Unsubscribe"]).replace(" ", "") == value.replace(" ", "").replace("\t", "")
    return [item.strip()[1:-1] for item in value.split(",")]


def _decodings(segment: str) -> list[bytes]:
    """The segment as it is and as every base64 or base32 reading of it that decodes."""
    found = [segment.encode()]
    padded = segment + "=" * (-len(segment) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        with contextlib.suppress(ValueError, binascii.Error):
            found.append(decode(padded))
    for text in (segment.upper(), segment.upper().rstrip("=")):
        with contextlib.suppress(ValueError, binascii.Error):
            found.append(base64.b32decode(text + "=" * (-len(text) % 8)))
    return found


def assert_opaque(token: str, address: str) -> None:
    """A public link's token: under 100 characters, and no reading of it or of any of its segments
    (split at ".", "-", "_", "~") shows the recipient's address or its local part."""
    assert len(token) < 100, f"a token of {len(token)} characters: {token}"
    segments = {token, *re.split(r"[.~]", token), *re.split(r"[.~_-]", token)} - {""}
    forms = {address, address.lower(), address.split("@")[0].lower(), address.split("@")[1].lower()}
    for segment in segments:
        for decoded in _decodings(segment):
            for form in forms:
                assert form.encode() not in decoded.lower(), f"{form!r} is readable in the token {token}"
