"""A campaign's attachments (pure, no I/O): what a client asks to attach, what the campaign holds,
and the 5 MB all of them may take (seed 002)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, Field

from shared.types import INPUT, OUTPUT

MAX_CAMPAIGN_ATTACHMENTS = 5 * 1024 * 1024  # bytes in all, mass mail (seed 002)


class CampaignAttachmentCreate(BaseModel):
    """A file to attach to every mail of the campaign; the client uploads it to the returned URL."""

    model_config = INPUT

    name: Annotated[str, Field(min_length=1, max_length=255)]
    content_type: Annotated[str, Field(min_length=3, max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$")]
    size: Annotated[int, Field(ge=1, le=MAX_CAMPAIGN_ATTACHMENTS, description="Bytes; 5 MB in all per campaign")]


class CampaignAttachment(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    content_type: str
    size: int
    status: str = Field("pending", description="pending until the upload is confirmed, then uploaded")


class CampaignAttachmentUpload(BaseModel):
    """Where to send the file: a presigned S3 POST whose policy caps the size."""

    attachment: CampaignAttachment
    url: str
    fields: dict[str, str]
    expires_in: int


def attachments_total(attachments: Sequence[Mapping[str, Any]]) -> int:
    return sum(int(a.get("size", 0)) for a in attachments)
