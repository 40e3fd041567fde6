"""A campaign's attachments: files in the email files bucket, 5 MB in all (seed 002).

The client asks for an upload (`POST /campaigns/{id}/attachments`): the presigned POST's policy
caps the file at what is left of the campaign's 5 MB, and the declared sizes may not pass it either
(422 naming `size`). `POST .../attachments/{file_id}/confirm` records the size S3 holds. Only
uploaded files go out with the mails. Each change of the list is an `email_campaign.updated` event.
"""

from __future__ import annotations

from typing import Any

from services.email.campaigns import conflict, record_of, stage_change, view
from services.email.domain.campaign_files import (
    MAX_CAMPAIGN_ATTACHMENTS,
    CampaignAttachment,
    CampaignAttachmentCreate,
    CampaignAttachmentUpload,
    attachments_total,
)
from services.email.domain.campaigns import EDITABLE, Campaign
from services.email.service import Caller
from services.email.settings import EmailSettings
from services.email.store import Record
from shared import files
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.ids import new_id
from shared.permissions import Action
from shared.settings import load
from shared.store import UnitOfWork, run_with_retries


def bucket() -> str:
    return load(EmailSettings).files_bucket


def file_key(tenant: str, campaign_id: str, file_id: str) -> str:
    return f"{tenant}/campaign/{campaign_id}/{file_id}"


def planned(current: list[dict[str, Any]], body: CampaignAttachmentCreate) -> CampaignAttachment:
    """The new attachment, if it fits in what is left of the 5 MB; 422 naming `size` otherwise."""
    left = MAX_CAMPAIGN_ATTACHMENTS - attachments_total(current)
    if body.size > left:
        raise ValidationFailed.on(
            "size", f"Attachments exceed 5 MB in all: {max(left, 0)} bytes are left.", "too_large"
        )
    return CampaignAttachment(id=new_id(), name=body.name, content_type=body.content_type, size=body.size)


def upload_of(
    tenant: str, campaign_id: str, current: list[dict[str, Any]], attachment: CampaignAttachment
) -> CampaignAttachmentUpload:
    """Where the client sends the file; the signed policy allows at most what is left of the 5 MB."""
    left = MAX_CAMPAIGN_ATTACHMENTS - attachments_total([a for a in current if a["id"] != attachment.id])
    key = file_key(tenant, campaign_id, attachment.id)
    url, fields = files.presign_upload(bucket(), key, left, attachment.content_type)
    return CampaignAttachmentUpload(attachment=attachment, url=url, fields=fields, expires_in=files.UPLOAD_SECONDS)


def confirmed(tenant: str, campaign_id: str, current: list[dict[str, Any]], file_id: str) -> list[dict[str, Any]]:
    """The attachments with this one marked uploaded at the size S3 holds; 409 while nothing is uploaded."""
    found = next((a for a in current if a["id"] == file_id), None)
    if found is None:
        raise NotFound(f"No file {file_id} on campaign {campaign_id}.")
    left = MAX_CAMPAIGN_ATTACHMENTS - attachments_total([a for a in current if a["id"] != file_id])
    size = files.checked_size(bucket(), file_key(tenant, campaign_id, file_id), left)  # removed when over
    if size is None:
        raise Conflict("The file has not been uploaded yet.")
    return [{**a, "status": "uploaded", "size": size} if a["id"] == file_id else a for a in current]


def removed(tenant: str, campaign_id: str, current: list[dict[str, Any]], file_id: str) -> list[dict[str, Any]]:
    if not any(a["id"] == file_id for a in current):
        raise NotFound(f"No file {file_id} on campaign {campaign_id}.")
    files.delete(bucket(), file_key(tenant, campaign_id, file_id))
    return [a for a in current if a["id"] != file_id]


def mail_refs(tenant: str, campaign_id: str, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The uploaded files as a message carries them (the sender reads them from S3)."""
    return [
        {
            "bucket": bucket(),
            "key": file_key(tenant, campaign_id, a["id"]),
            "name": a["name"],
            "content_type": a["content_type"],
            "size": a["size"],
        }
        for a in attachments
        if a.get("status") == "uploaded"
    ]


# ----------------------------------------------------------------------------- commands


def add_attachment(caller: Caller, campaign_id: str, body: CampaignAttachmentCreate) -> CampaignAttachmentUpload:
    """A new attachment of a draft campaign and where to upload it (within the 5 MB of the campaign)."""

    def attempt() -> CampaignAttachmentUpload:
        record = record_of(caller, campaign_id, Action.CHANGE)
        if record.data["status"] not in EDITABLE:
            raise conflict(record, "take attachments")
        current = record.data.get("attachments") or []
        attachment = planned(current, body)
        attachments = [*current, attachment.model_dump()]
        uow = UnitOfWork()
        stage_change(caller, uow, record, {**record.data, "attachments": attachments}, "email_campaign.updated")
        uow.commit()
        return upload_of(caller.tenant, campaign_id, attachments, attachment)

    result: CampaignAttachmentUpload = run_with_retries(attempt)
    return result


def _attachments_changed(caller: Caller, campaign_id: str, change: Any) -> Campaign:
    def attempt() -> Record:
        record = record_of(caller, campaign_id, Action.CHANGE)
        if record.data["status"] not in EDITABLE:
            raise conflict(record, "change attachments")
        attachments = change(record.data.get("attachments") or [])
        uow = UnitOfWork()
        stage_change(caller, uow, record, {**record.data, "attachments": attachments}, "email_campaign.updated")
        uow.commit()
        return record

    record: Record = run_with_retries(attempt)
    return view(caller, record)


def confirm_attachment(caller: Caller, campaign_id: str, file_id: str) -> Campaign:
    return _attachments_changed(
        caller, campaign_id, lambda current: confirmed(caller.tenant, campaign_id, current, file_id)
    )


def remove_attachment(caller: Caller, campaign_id: str, file_id: str) -> Campaign:
    return _attachments_changed(
        caller, campaign_id, lambda current: removed(caller.tenant, campaign_id, current, file_id)
    )
