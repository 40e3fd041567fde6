"""`POST /sms/preview`: a text's encoding, parts and credits under the tenant's settings, counted
on the text with its tags filled for the contact named (from the contacts projection) or for the
built-in sample contact."""

from __future__ import annotations

from services.sms.domain import texts
from services.sms.domain.preview import SmsPreview, SmsPreviewRequest
from services.sms.domain.segments import segment
from services.sms.recipients import PROJECTION
from services.sms.service import Caller
from services.sms.setup import setup
from shared import merges
from shared.errors import NotFound, ValidationFailed
from shared.tags import row_context, sample_context


def preview(caller: Caller, body: SmsPreviewRequest) -> SmsPreview:
    settings = setup(caller)
    texts.check(body.text)
    if body.contact_id is None:
        context = sample_context()
    else:
        try:  # unknown, deleted, erased or out of the caller's sight: the same answer
            contact_id = merges.resolve(caller.store, caller.tenant, "contact", body.contact_id)  # an old link
            context = row_context(contact_id, PROJECTION.row(caller, contact_id))
        except NotFound:
            raise ValidationFailed.on("contact_id", f"No contact {body.contact_id}.", "not_found") from None
    result = segment(texts.fill(body.text, context), smart=settings.smart_encoding)
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
