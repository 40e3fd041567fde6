"""Mailboxes: the addresses the scanner watches. Admins write them; every user of the tenant reads them.

Records:
- kind "mailbox", id = a new id, data {address, name, owner, active, created_by, created_at, updated_at};
- its address, stack-wide: `ADDRESS#<address>` / `MAILBOX_ADDRESS`, data {tenant_id, mailbox_id}:
  an address maps to exactly one tenant's mailbox (an inbound mail finds its tenant here). It is
  written with the mailbox in one transaction, on the condition that no other mailbox holds it.
"""

from __future__ import annotations

import base64
from datetime import datetime
from functools import cache
from typing import Any

from services.scanner.domain.mailboxes import (
    Mailbox,
    MailboxCreate,
    MailboxPatch,
    RawAccepted,
    RawMessage,
    normalised,
)
from services.scanner.service import Caller
from services.scanner.settings import ScannerSettings
from services.scanner.store import Record
from shared import clock
from shared.errors import NotFound, ValidationFailed
from shared.ids import new_id
from shared.pagination import Page
from shared.service import commit, kind_page, model_of, patch_changes
from shared.settings import load
from shared.store import UnitOfWork, run_with_retries

MAILBOX = "mailbox"
ADDRESS = "MAILBOX_ADDRESS"


def address_key(address: str) -> str:
    return f"ADDRESS#{normalised(address)}"


def _taken() -> Exception:
    return ValidationFailed.on("address", "Another mailbox (of this or another tenant) has this address.", "duplicate")


def _address_item(tenant: str, mailbox_id: str, address: str) -> Record:
    return Record(
        pk=address_key(address),
        sk=ADDRESS,
        kind="mailbox_address",
        fields={"tenant_id": tenant, "mailbox_id": mailbox_id, "address": normalised(address)},
    )


def _stage_address(uow: UnitOfWork, tenant: str, mailbox_id: str, address: str) -> None:
    uow.save(_address_item(tenant, mailbox_id, address), condition=Record.pk.does_not_exist(), on_conflict=_taken)


def _unstage_address(uow: UnitOfWork, tenant: str, mailbox_id: str, address: str) -> None:
    item = _address_item(tenant, mailbox_id, address)
    uow.delete(item, condition=Record.fields["mailbox_id"] == mailbox_id, check_version=False)


def find_address(address: str) -> tuple[str, str] | None:
    """(tenant, mailbox id) of the mailbox with this address, else None."""
    try:
        item = Record.get(address_key(address), ADDRESS, consistent_read=True)
    except Record.DoesNotExist:
        return None
    return str(item.data["tenant_id"]), str(item.data["mailbox_id"])


def record(caller: Caller, mailbox_id: str) -> Record:
    found = caller.store.get(caller.tenant, MAILBOX, mailbox_id)
    if found is None:
        raise NotFound(f"No mailbox {mailbox_id}.")
    return found


def list_mailboxes(caller: Caller, cursor: str | None, limit: int, updated_since: datetime | None) -> Page[Mailbox]:
    return kind_page(caller, MAILBOX, cursor, limit, Mailbox, updated_since)


def get_mailbox(caller: Caller, mailbox_id: str) -> Mailbox:
    return model_of(record(caller, mailbox_id), Mailbox)


def create_mailbox(caller: Caller, body: MailboxCreate) -> Mailbox:
    caller.require_admin()
    at = clock.now().isoformat()
    data = body.model_dump(mode="json") | {"address": normalised(body.address)}
    mailbox = caller.store.new(
        caller.tenant, MAILBOX, new_id(), data | {"created_by": caller.user_id, "created_at": at, "updated_at": at}
    )
    uow = UnitOfWork()
    caller.store.add(uow, mailbox)
    _stage_address(uow, caller.tenant, mailbox.record_id, body.address)
    uow.commit()
    return model_of(mailbox, Mailbox)


def change_mailbox(caller: Caller, mailbox_id: str, body: MailboxPatch) -> Mailbox:
    caller.require_admin()

    def run() -> Mailbox:
        mailbox = record(caller, mailbox_id)
        changes = body.model_dump(mode="json", exclude_unset=True)
        if "address" in changes:
            changes["address"] = normalised(changes["address"])
        if not patch_changes(mailbox.data, changes):
            return model_of(mailbox, Mailbox)
        before = str(mailbox.data["address"])
        uow = UnitOfWork()
        if changes.get("address", before) != before:
            _unstage_address(uow, caller.tenant, mailbox_id, before)
            _stage_address(uow, caller.tenant, mailbox_id, changes["address"])
        caller.store.replace(uow, mailbox, mailbox.data | changes | {"updated_at": clock.now().isoformat()})
        uow.commit()
        return model_of(mailbox, Mailbox)

    return commit(run)


def delete_mailbox(caller: Caller, mailbox_id: str) -> None:
    """The mailbox and its address go; its tickets stay (they name the mailbox they came from)."""
    caller.require_admin()

    def run() -> None:
        mailbox = record(caller, mailbox_id)
        uow = UnitOfWork()
        caller.store.remove(uow, mailbox)
        _unstage_address(uow, caller.tenant, mailbox_id, str(mailbox.data["address"]))
        uow.commit()

    run_with_retries(run)


def accept_raw(caller: Caller, mailbox_id: str, body: RawMessage) -> RawAccepted:
    """Store a raw message for the mailbox where the inbound path reads mail (inbound.py): the
    scanner processes it as any mail that arrived, once per Message-ID."""
    caller.require_admin()
    record(caller, mailbox_id)
    raw = base64.b64decode(body.raw, validate=True)  # the model's pattern admits only valid base64
    message_id = new_id()
    key = f"inbound/api/{caller.tenant}/{mailbox_id}/{message_id}.eml"
    _s3().put_object(
        Bucket=load(ScannerSettings).mail_bucket,
        Key=key,
        Body=raw,
        ContentType="message/rfc822",
        ServerSideEncryption="AES256",
    )
    return RawAccepted(id=message_id, mailbox_id=mailbox_id)


@cache
def _s3() -> Any:
    import boto3  # here: the API's other routes never load boto3's S3 client

    return boto3.client("s3")
