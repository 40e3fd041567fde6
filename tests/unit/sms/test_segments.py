"""SMS parts, exactly: GSM-7 septets with the extension table, UCS-2 code units, and the split
points, checked by hand at the limits and against `smsutil` (an independent splitter) at random."""

from __future__ import annotations

import unicodedata

import smsutil
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sms.domain.segments import GSM7_PART, SMART_REPLACEMENTS, UCS2_PART, is_gsm7, segment

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"


def test_160_septets_are_one_part_and_161_are_two_of_at_most_153():
    assert segment("a" * 160).parts == ["a" * 160]
    text = "a" * 161
    result = segment(text)
    assert result.encoding == "GSM-7"
    assert [len(part) for part in result.parts] == [153, 8]
    assert "".join(result.parts) == text


def test_an_extension_character_takes_two_septets():
    result = segment("€" * 80)
    assert (result.encoding, result.characters, result.units, len(result.parts)) == ("GSM-7", 80, 160, 1)
    assert len(segment("€" * 81).parts) == 2


def test_an_escape_pair_is_never_split_between_parts():
    # 152 septets, then an extension character that would straddle the 153-septet boundary.
    text = "a" * 152 + "€" + "b" * 10
    result = segment(text)
    assert result.parts == ["a" * 152, "€" + "b" * 10]


def test_a_character_outside_gsm7_makes_the_whole_text_ucs2():
    assert segment("a" * 70 + "ç").encoding == "UCS-2"
    result = segment("Hei ✓" * 14)  # 70 code units
    assert (result.encoding, result.units, len(result.parts)) == ("UCS-2", 70, 1)
    assert [len(part) for part in segment("ж" * 71).parts] == [67, 4]


def test_a_surrogate_pair_counts_two_units_and_is_never_split():
    emoji = "\U0001f600"
    result = segment("a" * 66 + emoji + "b")
    assert result.units == 69 and result.characters == 68 and len(result.parts) == 1
    result = segment("a" * 66 + emoji + "b" * 4)  # 72 units: two parts, the pair moves whole
    assert result.parts == ["a" * 66, emoji + "b" * 4]


def test_smart_replacement_is_off_by_default_and_only_used_when_it_makes_gsm7():
    text = "\u201cTervetuloa\u201d \u2013 nähdään\u2026"
    assert segment(text).encoding == "UCS-2"
    smart = segment(text, smart=True)
    assert (smart.encoding, smart.text, smart.replaced) == ("GSM-7", '"Tervetuloa" - nähdään...', True)
    # An emoji keeps the text UCS-2, so the typographic characters stay as written.
    kept = segment(text + " \U0001f600", smart=True)
    assert (kept.encoding, kept.text, kept.replaced) == ("UCS-2", text + " \U0001f600", False)


def test_smart_replacement_never_touches_letters_the_recipient_reads_differently():
    # Only punctuation and spaces are replaced, each by GSM-7 text; a letter is never a key.
    for char, replacement in SMART_REPLACEMENTS.items():
        assert unicodedata.category(char)[0] not in "LNM", char  # no letter, digit or mark
        assert not is_gsm7(char) and is_gsm7(replacement), char
    assert segment("Ça ç ĉ \u2013 ok", smart=True).text == "Ça ç ĉ \u2013 ok"


def test_the_escape_character_itself_is_not_gsm7_text():
    assert segment("a\x1bb").encoding == "UCS-2"


ALPHABET = st.sampled_from(GSM_BASIC + GSM_EXTENSION + "çжé✓\U0001f600")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=500))
def test_parts_agree_with_an_independent_splitter(text: str):
    ours = segment(text)
    reference = smsutil.split(text) if text else None
    if reference is None:
        assert ours.parts == []
        return
    assert ours.encoding == ("GSM-7" if reference.encoding == "gsm0338" else "UCS-2")
    assert ours.parts == [part.content for part in reference.parts]
    limit = GSM7_PART if ours.encoding == "GSM-7" else UCS2_PART
    if len(ours.parts) > 1:
        assert all(segment(part).units <= limit for part in ours.parts)
