"""The new text of a reply, apart from the quoted history (pure): mail-parser-reply's.

mail-parser-reply (MIT, maintained, no dependencies) splits a text body at the header lines that
mail clients write above a quote ("On ... wrote:", Outlook's "From:/Sent:" block, "-----Original
Message-----") in the languages it is given, and at ">" quoting. It knows English, Swedish, German,
Danish and others, not Finnish (1.36): Finnish clients' header lines are added to its language
table here, in its own format (a candidate for upstream), so Finnish replies split too.
quotequail was the other candidate: it ships only as a source distribution (the Lambda layer takes
wheels only) and needs lxml's HTML parsing for the same job.
"""

from __future__ import annotations

from mailparser_reply import EmailReplyParser
from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE

LANGUAGES = ["fi", "sv", "en", "de", "da", "nl", "fr", "es"]
MAX_TEXT = 200_000  # characters looked at: the library's patterns are linear but not free

MAIL_LANGUAGES.setdefault(
    "fi",
    {
        # Gmail "ma 1.12.2025 klo 10.15 Matti <m@x.fi> kirjoitti:", Apple Mail "1.12.2025 kello 10.15,
        # Matti <m@x.fi> kirjoitti:", Thunderbird "Matti kirjoitti 1.12.2025 klo 10.15:".
        "wrote_header": r"^(" + QUOTED_MATCH_INCLUDE + r"[^\n]{0,200}?\skirjoitti(?:\s[^\n]{0,80})?:)$",
        # Outlook: "Lähettäjä: ... / Lähetetty: ... / Vastaanottaja: ... / Aihe: ...".
        "from_header": r"((?:(?:^|\n|\n"
        + QUOTED_MATCH_INCLUDE
        + r")[* ]*(?:Lähettäjä|Lähetetty|Vastaanottaja|Aihe|Päivämäärä|Kopio):[ *]*(?:\s{,2}).*){2,}(?:\n.*){,1})",
        "disclaimers": ["Huomio:", "Luottamuksellinen:"],
        "signatures": ["Ystävällisin terveisin", "Parhain terveisin", "Terveisin", r"Yst\. terv"],
        "sent_from": "Lähetetty (?:iPhonesta|Androidista|mobiililaitteesta)|Lähetetty Outlookista",
    },
)

_PARSER = EmailReplyParser(languages=LANGUAGES)


def new_text(text: str) -> str:
    """The text the sender wrote in this message, without the quoted history below it (the whole
    text when no history is found, or when the library fails on it)."""
    if not text.strip():
        return ""
    try:
        latest = _PARSER.parse_reply(text[:MAX_TEXT])
    except Exception:  # a library's failure must not lose the text
        return text.strip()
    return (latest or "").strip() or text.strip()
