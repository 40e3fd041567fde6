"""`POST /sms/preview`: a text's encoding, parts and credits under the tenant's settings."""

from __future__ import annotations

from services.sms.domain.preview import SmsPreview, SmsPreviewRequest
from services.sms.domain.segments import segment
from services.sms.service import Caller
from services.sms.setup import setup


def preview(caller: Caller, body: SmsPreviewRequest) -> SmsPreview:
    settings = setup(caller)
    result = segment(body.text, smart=settings.smart_encoding)
    parts = len(result.parts)
    return SmsPreview(
        text=result.text,
        encoding=result.encoding,
        characters=result.characters,
        units=result.units,
        parts=parts,
        part_texts=result.parts,
        credits=parts,
        max_parts=settings.max_parts,
        over_limit=parts > settings.max_parts,
        replaced=result.replaced,
    )
