"""Sending one queued mail: build the MIME mail, hand it to the tenant's transport (SES v2, or its
own SMTP server: services/email/transports.py), then record the send and publish `email.sent` in
one transaction.

A send-queue message is `{"tenant_id", "message_id"}`. A message no longer "queued" is skipped, so
a redelivered queue message sends nothing. The Message-ID header is derived from our id, so a mail
sent again after a crash between SES and the record is the same mail to the receiving side.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from functools import cache
from typing import Any

import boto3

from services.email.domain.messages import (
    Mail,
    MessageStatus,
    Part,
    Sender,
    attachments_too_large,
    build_mime,
)
from services.email.service import Caller, service_caller
from services.email.store import Record
from services.email.transactional import KIND, SENDER_SETTING
from services.email.transports import Refused, transport_for
from shared import clock
from shared.contracts.messaging import EmailAttachment, EmailSent
from shared.ids import derived_id
from shared.observability import logger
from shared.store import ConcurrentUpdate, UnitOfWork


class MessageMissing(Exception):
    """The queue named a message whose record is not readable yet: retry later."""


@cache
def _s3() -> Any:
    return boto3.client("s3")


def send_queued(message: dict[str, Any]) -> None:
    tenant, message_id = str(message["tenant_id"]), str(message["message_id"])
    caller = service_caller(tenant)
    record = caller.store.get(tenant, KIND, message_id)
    if record is None:
        raise MessageMissing(message_id)
    if record.data.get("status") != MessageStatus.queued:
        logger.info(
            "message not queued, skipped", extra={"message_id": message_id, "status": record.data.get("status")}
        )
        return
    setting = caller.setting(SENDER_SETTING)
    sender = Sender.model_validate(setting)
    parts = _read_attachments(record.data.get("attachments", []))
    if parts is None:  # the declared sizes were under the limit, the files are not
        _record(caller, record, {"status": MessageStatus.failed.value, "error": "Attachments exceed 25 MB in all."})
        return
    mime = build_mime(_mail(record, parts), sender)
    transport = transport_for(setting)
    try:
        provider_id = transport.send(mime.as_bytes(), sender.from_address, [record.data["to"]])
    except Refused as exc:  # anything temporary raised on: the queue retries
        _record(caller, record, {"status": MessageStatus.failed.value, "error": str(exc)})
        return
    id_field = "ses_message_id" if transport.name == "ses" else "provider_message_id"
    _record(
        caller,
        record,
        {"status": MessageStatus.sent.value, "transport": transport.name, id_field: provider_id},
        sent=True,
    )


def _mail(record: Record, parts: list[Part]) -> Mail:
    data = record.data
    headers: dict[str, str] = {}
    if data.get("list_type_id"):
        headers = _unsubscribe_headers(
            record.pk.split("#")[1], data["to"], data["list_type_id"], data.get("contact_id")
        )
    return Mail.model_validate(
        {
            **data,
            "message_id": record.record_id,
            "subject": data.get("subject") or "",
            "headers": headers,
            "attachments": parts,
            "date": clock.now(),
        }
    )


def _unsubscribe_headers(tenant: str, address: str, list_type_id: str, contact_id: str | None) -> dict[str, str]:
    """RFC 8058 headers from the list-types feature, when it is deployed with this one."""
    try:
        module = importlib.import_module("services.email.unsubscribe")
    except ImportError:
        logger.warning("List-Unsubscribe headers unavailable: services.email.unsubscribe is missing")
        return {}
    headers: dict[str, str] = module.list_unsubscribe_headers(tenant, address, list_type_id, contact_id)
    return headers


def _read_attachments(items: list[dict[str, Any]]) -> list[Part] | None:
    """The attachments' bytes from S3; None once they pass the limit (stop reading, fail the mail)."""
    parts = []
    total = 0
    for item in items:
        attachment = EmailAttachment.model_validate(item)
        body = _s3().get_object(Bucket=attachment.bucket, Key=attachment.key)["Body"].read()
        total += len(body)
        if attachments_too_large([total]):
            return None
        parts.append(Part(name=attachment.name, content_type=attachment.content_type, content=body))
    return parts


def _record(caller: Caller, record: Record, changes: dict[str, Any], sent: bool = False) -> None:
    """Mark the outcome and, for a sent mail, publish `email.sent` in the same transaction."""
    now = clock.now()
    current: Record | None = record
    for _ in range(5):
        if current is None or current.data.get("status") != MessageStatus.queued:
            return  # another delivery of the same queue message recorded it
        try:
            _commit_outcome(caller, current, changes, now, sent)
            return
        except ConcurrentUpdate:
            current = caller.store.get(caller.tenant, KIND, record.record_id)
    raise ConcurrentUpdate()


def _commit_outcome(caller: Caller, record: Record, changes: dict[str, Any], now: datetime, sent: bool) -> None:
    data = {**record.data, **changes}
    if sent:
        data["sent_at"] = clock.iso(now)
    uow = UnitOfWork()
    caller.store.replace(uow, record, data)
    if sent:
        event = EmailSent(
            message_id=record.record_id,
            contact_id=data.get("contact_id"),
            account_id=data.get("account_id"),
            to=data["to"],
            subject=data.get("subject"),
            campaign_id=data.get("campaign_id"),
            sent_at=now,
        )
        uow.publish(caller.event("email.sent", event, event_id=derived_id("email.sent", record.record_id)))
    uow.commit()
