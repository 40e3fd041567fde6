"""The tenant's SMS settings [002 Tekstiviestit]: SMS is off until an admin activates it; the
sender name, the country numbers are read in, smart encoding, the part limit, the sending window
and the words of inbound messages that opt a number out, back in, or ask for help.

The standard opt-out words (STOP, UNSUBSCRIBE, END, QUIT, CANCEL, OPTOUT), opt-in words (START,
UNSTOP) and HELP always apply; a tenant adds its own (Finnish and Swedish by default).
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from shared.errors import ValidationFailed
from shared.schedules import TimeZone
from shared.types import INPUT, OUTPUT, Country, reject_null

STANDARD_OPT_OUT = ("STOP", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT")
STANDARD_OPT_IN = ("START", "UNSTOP")
STANDARD_HELP = ("HELP",)
MAX_PARTS = 10


def _keyword(value: str) -> str:
    return " ".join(value.split()).upper()


Keyword = Annotated[
    str,
    StringConstraints(min_length=1, max_length=20, pattern=r"^\s*[^\W_]+(\s+[^\W_]+)*\s*$"),
    AfterValidator(_keyword),
]
KeywordList = Annotated[list[Keyword], Field(max_length=20)]
# An alphanumeric sender (1-11 letters, digits and spaces, at least one letter) or an E.164 number.
# The letter's place is spelled out (a branch each), as JSON Schema's and pydantic's regex
# dialects share no look-ahead.
_ALPHANUMERIC = "|".join(f"[A-Za-z0-9 ]{{{i}}}[A-Za-z][A-Za-z0-9 ]{{0,{10 - i}}}" for i in range(11))
SenderId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=rf"^(?:{_ALPHANUMERIC}|\+[1-9][0-9]{{6,14}})$")
]
HelpText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=306)]


class SmsWindow(BaseModel):
    """When marketing messages may go, in the tenant's zone: `start` (inclusive) to `end` (exclusive);
    an `end` before the `start` crosses midnight (domain/window.py)."""

    model_config = INPUT

    start: time
    end: time
    time_zone: TimeZone = "Europe/Helsinki"

    @model_validator(mode="after")
    def _ordered(self) -> SmsWindow:
        if self.end == self.start:
            raise PydanticCustomError("window_empty", "the window's end must differ from its start")
        return self


class SmsSetup(BaseModel):
    """The tenant's SMS settings as stored and shown."""

    model_config = OUTPUT

    active: bool = Field(False, description="SMS may be sent (an admin activates it)")
    sender_id: str = Field("Kontakt", description="The sender recipients see: 1-11 letters/digits, or a number")
    default_country: str = Field("FI", description="Numbers without a country code are read as this country's")
    smart_encoding: bool = Field(
        False, description="Replace typographic quotes, dashes and spaces with GSM-7 look-alikes when that avoids UCS-2"
    )
    max_parts: int = Field(6, ge=1, le=MAX_PARTS, description="The most parts one message may take")
    window: SmsWindow | None = Field(
        None,
        description="When marketing messages may go (wall-clock time in `time_zone`; an `end` before the `start` "
        "crosses midnight); outside it they wait for its next opening. Transactional messages ignore it",
    )
    opt_out_keywords: list[str] = Field(default_factory=lambda: ["LOPETA", "STOPP"])
    opt_in_keywords: list[str] = Field(default_factory=lambda: ["ALOITA"])
    help_keywords: list[str] = Field(default_factory=lambda: ["APUA", "HJÄLP"])
    help_text: str = "Reply STOP to stop messages from us."
    transactional_to_opted_out: bool = Field(
        False, description="Transactional messages still reach numbers opted out of marketing SMS"
    )

    def keyword_action(self, text: str) -> str | None:
        """What an inbound message asks for when it is a keyword as the whole message."""
        word = _keyword(text)
        if word in STANDARD_OPT_OUT or word in self.opt_out_keywords:
            return "opt_out"
        if word in STANDARD_OPT_IN or word in self.opt_in_keywords:
            return "opt_in"
        if word in STANDARD_HELP or word in self.help_keywords:
            return "help"
        return None


class SmsSetupUpdate(BaseModel):
    """A JSON Merge Patch of the settings: what is sent replaces what is stored."""

    model_config = INPUT

    active: bool | None = None
    sender_id: SenderId | None = None
    default_country: Country | None = None
    smart_encoding: bool | None = None
    max_parts: Annotated[int, Field(ge=1, le=MAX_PARTS)] | None = None
    window: SmsWindow | None = Field(None, description="null removes the window")
    opt_out_keywords: KeywordList | None = None
    opt_in_keywords: KeywordList | None = None
    help_keywords: KeywordList | None = None
    help_text: HelpText | None = None
    transactional_to_opted_out: bool | None = None

    _not_null = field_validator(
        "active",
        "sender_id",
        "default_country",
        "smart_encoding",
        "max_parts",
        "opt_out_keywords",
        "opt_in_keywords",
        "help_keywords",
        "help_text",
        "transactional_to_opted_out",
        mode="before",
    )(reject_null)

    @field_validator("default_country")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        import phonenumbers  # its metadata is large: loaded by the settings' writers only

        if value is not None and value not in phonenumbers.SUPPORTED_REGIONS:
            raise PydanticCustomError("unknown_country", "no numbering plan is known for {country}", {"country": value})
        return value

    def merged(self, current: SmsSetup) -> SmsSetup:
        """The settings with this patch applied; a word in two lists is a 422 naming the list sent."""
        changes: dict[str, Any] = self.model_dump(mode="json", exclude_unset=True)
        result = SmsSetup.model_validate({**current.model_dump(mode="json"), **changes})
        lists = {
            "opt_out_keywords": set(result.opt_out_keywords) | set(STANDARD_OPT_OUT),
            "opt_in_keywords": set(result.opt_in_keywords) | set(STANDARD_OPT_IN),
            "help_keywords": set(result.help_keywords) | set(STANDARD_HELP),
        }
        for name in [name for name in lists if name in changes] or list(lists):
            for other, words in lists.items():
                both = sorted(lists[name] & words) if other != name else []
                if both:
                    message = f"{both[0]} is also one of the {other.replace('_', ' ')}"
                    raise ValidationFailed.on(name, message, "keyword_twice")
        return result
