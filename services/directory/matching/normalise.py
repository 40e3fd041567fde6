"""Normalisation: each comparable value in the one form two spellings of it share.

Every function takes the stored text (or None) and returns the normal form, or None when there is
nothing to compare (blank, or not a value of its kind: a phone number no numbering plan can have,
a business id with a wrong check digit). None is an empty field to the rules.

Email: trimmed and lower-cased, nothing else. Provider rules are not applied (Gmail ignores dots
and `+tags` in the local part; most mail servers do not, and a `+tag` address is often a
deliberately separate mailbox such as `sales+fi@`): joining two addresses that are really two
mailboxes would merge two people, which is worse than missing a duplicate that a name or a phone
number still finds.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from shared.business_ids import stored_business_id

from .nicknames import canonical_given_name

_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_.,;:/&\"()]+")  # hyphens, dashes, punctuation: a space
_APOSTROPHES = re.compile(r"['\u2019`]")  # dropped: O'Brien, OBrien
# Letters that NFKD does not decompose into a base letter and a mark.
_LIGATURES = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "þ": "th"})
# Legal forms and filler words of company names, folded: "Oy Acme Ab" and "Acme Oy" are one name.
LEGAL_FORMS = frozenset(
    {
        *("oy", "oyj", "ab", "abp", "ky", "tmi", "ry", "osk", "ay", "kommandiittiyhtio", "osakeyhtio"),
        *("ltd", "limited", "inc", "llc", "plc", "corp", "corporation", "co", "company", "gmbh", "ag"),
        *("as", "asa", "aps", "sa", "sarl", "bv", "nv", "srl", "spa", "ou", "the", "and"),
    }
)


def fold(text: str | None) -> str:
    """Case and accents folded, punctuation and hyphens read as spaces, whitespace collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_SEPARATORS.sub(" ", _APOSTROPHES.sub("", bare)).split())


@lru_cache(maxsize=1 << 16)  # names repeat: a tenant's common names are folded once
def tokens(text: str | None) -> tuple[str, ...]:
    return tuple(fold(text).split())


def email(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    return text if "@" in text else None


@lru_cache(maxsize=4096)
def phone(value: str | None, country: str) -> str | None:
    """E.164 ("+358401234567"), numbers without a country code read as `country`'s; None when no
    numbering plan can have it (a possible length, not a number assigned today: new ranges open)."""
    if not value or not value.strip():
        return None
    import phonenumbers  # its metadata is large: loaded by the first number read

    try:
        parsed = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def business_id(value: str | None) -> str | None:
    """A Finnish business id in its printed form, from the common ways of writing it (the kernel's
    rule: "12345671", "1234567 - 1", "FI12345671"); None without a right check digit."""
    return stored_business_id(value)


def website(value: str | None) -> str | None:
    """The host of a web address, without a scheme, `www.`, port or path: "acme.fi"."""
    text = (value or "").strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.").strip(".")
    return host or None


def code(value: str | None) -> str | None:
    """An id, a postal code, a city: compared folded, or None when blank."""
    return fold(value) or None


@lru_cache(maxsize=1 << 16)
def given_names(value: str | None) -> tuple[str, ...]:
    """Given-name tokens, folded, each nickname read as its canonical name ("Mikko" -> "mikael")."""
    return tuple(canonical_given_name(t) for t in tokens(value))


def org_name(value: str | None) -> str | None:
    """A company's name folded, its legal forms dropped; the name itself if it is nothing else."""
    words = tokens(value)
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words) or None


_DOUBLES = re.compile(r"(.)\1+")
_SOUNDS = str.maketrans({"w": "v", "z": "s", "c": "k", "q": "k", "x": "k", "y": "i"})


def skeleton(token: str) -> str:
    """A rough phonetic key of a folded token: its first letter, then its consonants with similar
    sounds merged and doubled letters single ("Virtanen", "Wirtannen" -> "vrtnn"). Vowel slips
    and doubled-letter typos keep the key; a wrong consonant does not (other keys catch those)."""
    if not token:
        return ""
    text = _DOUBLES.sub(r"\1", token.replace("ph", "f").translate(_SOUNDS))
    return text[0] + "".join(c for c in text[1:] if c not in "aeiouy")
