"""How a text travels as SMS: its encoding, its parts and what they cost (3GPP TS 23.038 / 23.040).

GSM 7-bit is the default alphabet: the basic table's characters take one septet, the extension
table's (`^{}[]~|\\€` and form feed) two (an escape and the character). One part holds 160
septets; a concatenated message's parts hold 153 each (the user data header takes 7), and an
escape pair is never split between parts. A text with any character outside both tables goes as
UCS-2: 70 UTF-16 code units in one part, 67 per concatenated part, a surrogate pair never split.
Membership and septet counts come from the `gsm0338` codec (the standard's tables), not a copy.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import gsm0338  # noqa: F401  registers the "gsm03.38" codec
from pydantic import BaseModel, ConfigDict

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67
ESCAPE = 0x1B

Encoding = Literal["GSM-7", "UCS-2"]

# Typographic characters and their GSM-7 look-alikes, read the same by the recipient: quotes,
# dashes and spaces of other widths, the ellipsis, and invisible joiners that carry nothing.
SMART_REPLACEMENTS: dict[str, str] = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    "\u2026": "...",
    **dict.fromkeys("\u200b\ufeff", ""),
}
_SMART_TABLE = str.maketrans(SMART_REPLACEMENTS)


class Segmentation(BaseModel):
    """A text as it is sent: `text` after any smart replacement, and its parts."""

    model_config = ConfigDict(frozen=True)

    text: str
    encoding: Encoding
    characters: int
    units: int
    parts: list[str]
    replaced: bool


@cache
def _septets() -> dict[str, int]:
    """Each GSM-7 character and its septets, read from the codec once: the basic table's code
    points decoded alone, the extension table's after the escape (which is not text itself)."""
    table: dict[str, int] = {}
    for code in range(128):
        if code == ESCAPE:
            continue
        table[bytes([code]).decode("gsm03.38")] = 1
        extended = bytes([ESCAPE, code]).decode("gsm03.38", errors="ignore")
        if len(extended) == 1 and extended not in table and extended != " ":
            table.setdefault(extended, 2)
    return table


def gsm7_septets(char: str) -> int | None:
    """Septets one character takes in GSM-7, None when the alphabet has no such character."""
    return _septets().get(char)


def is_gsm7(text: str) -> bool:
    table = _septets()
    return all(char in table for char in text)


def smart_replace(text: str) -> str:
    return text.translate(_SMART_TABLE)


def segment(text: str, *, smart: bool = False) -> Segmentation:
    """The parts of `text`. With `smart`, typographic look-alikes are replaced only when that makes
    the whole text GSM-7 (a text that stays UCS-2 is sent as written)."""
    replaced = False
    if smart and not is_gsm7(text):
        candidate = smart_replace(text)
        if candidate != text and is_gsm7(candidate):
            text, replaced = candidate, True
    if is_gsm7(text):
        table = _septets()
        costs = [table[char] for char in text]
        parts = _split(text, costs, GSM7_SINGLE, GSM7_PART)
        return Segmentation(
            text=text, encoding="GSM-7", characters=len(text), units=sum(costs), parts=parts, replaced=replaced
        )
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]  # UTF-16 code units
    parts = _split(text, costs, UCS2_SINGLE, UCS2_PART)
    return Segmentation(
        text=text, encoding="UCS-2", characters=len(text), units=sum(costs), parts=parts, replaced=replaced
    )


def _split(text: str, costs: list[int], single: int, per_part: int) -> list[str]:
    """Whole characters into parts: one part when the text fits `single`, else parts of at most
    `per_part` units, a character (an escape pair, a surrogate pair) never divided."""
    if not text:
        return []
    if sum(costs) <= single:
        return [text]
    parts: list[str] = []
    start = used = 0
    for index, cost in enumerate(costs):
        if used + cost > per_part:
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return parts
