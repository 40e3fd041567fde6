"""What a text costs before it is sent: `POST /sms/preview`, with its tags filled for one contact
(or the built-in sample contact, `shared/tags.py`) first."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.sms.domain.segments import Encoding
from shared.types import INPUT, NOT_BLANK, OUTPUT

MAX_TEXT = 1600  # characters: 10 parts of GSM-7 and more; the tenant's part limit is checked too

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT), NOT_BLANK]


class SmsPreviewRequest(BaseModel):
    model_config = INPUT

    text: Text = Field(
        description="The message (not blank, at most 1,600 characters; whitespace at either end is dropped). Tags "
        "(`{{ contact.first_name }}`, `{{ account.name }}`, `{{ owner.id }}`) are filled before it is counted; a "
        "syntax error or an unknown tag is a 422 naming `text`"
    )
    contact_id: str | None = Field(
        None,
        pattern=r"^[0-9A-Za-z_-]{1,64}$",
        description="The contact whose fields fill the tags: one the caller may see (else a 422 naming "
        "`contact_id`); without it, a built-in sample contact",
    )


class SmsPreview(BaseModel):
    model_config = OUTPUT

    text: str = Field(
        description="The text as it would be sent: its tags filled, then smart encoding when the tenant has it on"
    )
    encoding: Encoding
    characters: int = Field(description="Characters (Unicode code points)")
    units: int = Field(description="GSM-7 septets (an extension character counts 2) or UCS-2 code units")
    parts: int = Field(description="Message parts: 160 septets or 70 units in one, 153 or 67 each when more")
    part_texts: list[str] = Field(description="The text of each part")
    credits: int = Field(description="Credits one recipient costs: one per part")
    max_parts: int = Field(description="The tenant's part limit; a send over it is refused")
    over_limit: bool
    replaced: bool = Field(description="Smart encoding replaced typographic characters")
