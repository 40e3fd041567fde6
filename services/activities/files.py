"""Files uploaded to activities and contact orders: S3 presigned uploads and downloads.

The API never carries file bytes: a client asks for an upload (a presigned POST whose policy
caps the size), sends the file to S3, then confirms; the confirmation checks what S3 holds.
"""

from dataclasses import dataclass

from services.activities.domain.models import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    AttachmentCreate,
    AttachmentDownload,
    AttachmentUpload,
)
from services.activities.settings import ActivitiesSettings
from shared import clock, files
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.settings import load


def bucket() -> str:
    return load(ActivitiesSettings).files_bucket


def file_key(tenant_id: str, owner_kind: str, owner_id: str, file_id: str) -> str:
    return f"{tenant_id}/{owner_kind}/{owner_id}/{file_id}"


def presign_upload(key: str, max_bytes: int, content_type: str) -> tuple[str, dict[str, str]]:
    return files.presign_upload(bucket(), key, max_bytes, content_type)


def checked_size(key: str) -> int | None:
    """The size of the uploaded object (None when nothing was uploaded); over 25 MB it is removed and refused."""
    return files.checked_size(bucket(), key, MAX_ATTACHMENT_BYTES)


def presign_download(key: str, name: str, content_type: str) -> str:
    return files.presign_download(bucket(), key, name, content_type)


def delete(key: str) -> None:
    files.delete(bucket(), key)


# ----------------------------------------------------------------------------- attachments of a record


@dataclass(frozen=True)
class Folder:
    """Where one record's files live: the tenant, the record's kind and id."""

    tenant_id: str
    owner_kind: str
    owner_id: str

    def key(self, file_id: str) -> str:
        return file_key(self.tenant_id, self.owner_kind, self.owner_id, file_id)


def new_attachment(body: AttachmentCreate, user_id: str) -> Attachment:
    return Attachment(
        id=new_id(),
        name=body.name,
        content_type=body.content_type,
        size=body.size,
        uploaded_by=user_id,
        created_at=clock.now(),
    )


def upload_of(folder: Folder, attachment: Attachment) -> AttachmentUpload:
    """Where the client sends the file (capped at 25 MB by the signed policy)."""
    url, fields = presign_upload(folder.key(attachment.id), MAX_ATTACHMENT_BYTES, attachment.content_type)
    return AttachmentUpload(attachment=attachment, url=url, fields=fields, expires_in=files.UPLOAD_SECONDS)


def find(attachments: list[Attachment], file_id: str, where: str) -> Attachment:
    found = next((a for a in attachments if a.id == file_id), None)
    if found is None:
        raise NotFound(f"No file {file_id} on {where}.")
    return found


def uploaded(folder: Folder, attachment: Attachment) -> Attachment:
    """The attachment marked uploaded with the size S3 holds; 409 while nothing is uploaded, 422 over 25 MB."""
    size = checked_size(folder.key(attachment.id))
    if size is None:
        raise Conflict("The file has not been uploaded yet.")
    return attachment.model_copy(update={"status": "uploaded", "size": size})


def replaced(attachments: list[Attachment], done: Attachment) -> list[Attachment]:
    return [done if a.id == done.id else a for a in attachments]


def download_of(folder: Folder, attachment: Attachment) -> AttachmentDownload:
    if attachment.status != "uploaded":
        raise Conflict("The file has not been uploaded yet.")
    url = presign_download(folder.key(attachment.id), attachment.name, attachment.content_type)
    return AttachmentDownload(url=url, expires_in=files.DOWNLOAD_SECONDS)
