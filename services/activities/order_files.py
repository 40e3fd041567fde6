"""Contact orders [003]: documents uploaded to an order (S3, through files.py).

The order lists its attachments; the files live under `<tenant>/contact_order/<order id>/`.
Deleting one needs its own permission (delete_files) and works on a closed order too.
"""

from __future__ import annotations

from services.activities import files
from services.activities.domain.contact_orders import MAX_FILES, ContactOrder
from services.activities.domain.models import Attachment, AttachmentCreate, AttachmentDownload, AttachmentUpload
from services.activities.domain.order_settings import Permission, require
from services.activities.order_records import KIND, change_order, load_order, touched
from services.activities.order_settings import permissions
from services.activities.service import Caller
from shared.errors import Conflict
from shared.store import UnitOfWork


def _attachment(order: ContactOrder, file_id: str) -> Attachment:
    return files.find(order.attachments, file_id, f"contact order {order.id}")


def _folder(caller: Caller, order_id: str) -> files.Folder:
    return files.Folder(caller.tenant, KIND, order_id)


def start_file(caller: Caller, order_id: str, body: AttachmentCreate) -> AttachmentUpload:
    def change(before: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, Attachment]:
        if len(before.attachments) >= MAX_FILES:
            raise Conflict(f"A contact order holds at most {MAX_FILES} files.")
        attachment = files.new_attachment(body, caller.user_id)
        return touched(before, attachments=[*before.attachments, attachment]), attachment

    return files.upload_of(_folder(caller, order_id), change_order(caller, order_id, change))


def complete_file(caller: Caller, order_id: str, file_id: str) -> Attachment:
    """Mark an upload done once S3 holds it."""

    def change(before: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, Attachment]:
        done = files.uploaded(_folder(caller, order_id), _attachment(before, file_id))
        return touched(before, attachments=files.replaced(before.attachments, done)), done

    return change_order(caller, order_id, change)


def download_file(caller: Caller, order_id: str, file_id: str) -> AttachmentDownload:
    order = load_order(caller, order_id)[1]
    return files.download_of(_folder(caller, order_id), _attachment(order, file_id))


def delete_file(caller: Caller, order_id: str, file_id: str) -> None:
    """Needs its own permission (delete_files); allowed on a closed order too (clearing an archive)."""

    def change(before: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, ContactOrder]:
        require(permissions(caller), Permission.delete_files, "delete an uploaded file")
        _attachment(before, file_id)
        after = touched(before, attachments=[a for a in before.attachments if a.id != file_id])
        return after, after

    change_order(caller, order_id, change, load_order)
    files.delete(_folder(caller, order_id).key(file_id))
