"""Transactional mail for the other services [issue 5 item 5]: `email.send_requested` becomes one
message record (one per request, however often delivered) and one entry on the send queue.

The record commits first, then the mail is queued, then the consumer's dedupe marker commits: a
crash in between redelivers the event, which finds the record still "queued" and queues it again
(the sender skips a message already sent).
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from functools import cache
from typing import Any

from pydantic import ValidationError

from services.email import recipients, templates
from services.email.domain.list_types import OPTOUT, SUPPRESSION, optout_id, suppression_id
from services.email.domain.messages import (
    KIND,
    SENDER_SETTING,
    Message,
    MessageFilter,
    MessageStatus,
    attachments_too_large,
    erased_message,
    message_id_header,
    normalise,
)
from services.email.outcomes import failed_event
from services.email.service import Caller, register_default, service_caller
from services.email.settings import EmailSettings, SendingSettings, default_from_address
from services.email.store import Record
from services.email.subscriptions import subscribe
from shared import clock, merges
from shared.contracts.messaging import EmailSendRequested, sent_message_id
from shared.errors import DomainError, NotFound
from shared.events import Envelope
from shared.observability import logger
from shared.pagination import Page
from shared.service import model_of, partition_page
from shared.settings import load
from shared.store import ConcurrentUpdate, UnitOfWork, tenant_key
from shared.tags import tag_context

register_default(SENDER_SETTING, lambda: {"from_address": default_from_address(), "reply_to": []})


# ----------------------------------------------------------------------------- records


def contact_key(tenant: str, contact_id: str) -> str:
    return tenant_key(tenant, "CONTACT", contact_id, KIND.upper())


def new_message_record(caller: Caller, message_id: str, data: dict[str, Any]) -> Record:
    """A message record, listed in its contact's history (the shared by_contact convention) and in
    the tenant's messages by time (`by_type`, whose sort key is `<created_at>#<id>` for messages)."""
    created = clock.iso(clock.now())
    record = caller.store.new(caller.tenant, KIND, message_id, {**data, "id": message_id, "created_at": created})
    record.gsi1sk = f"{created}#{message_id}"
    if data.get("contact_id"):
        record.gsi2pk = contact_key(caller.tenant, data["contact_id"])
        record.gsi2sk = f"{created}#{message_id}"
    return record


def is_suppressed(caller: Caller, address: str) -> bool:
    return caller.store.get(caller.tenant, SUPPRESSION, suppression_id(address)) is not None


def is_opted_out(caller: Caller, address: str, list_type_id: str | None) -> bool:
    if not list_type_id:
        return False
    return caller.store.get(caller.tenant, OPTOUT, optout_id(address, list_type_id)) is not None


# ----------------------------------------------------------------------------- the send queue


@cache
def _sqs() -> Any:
    import boto3  # here: a cold start that sends nothing to the send queue does not load boto3

    return boto3.client("sqs")


def enqueue(tenant: str, message_id: str) -> None:
    body = json.dumps({"tenant_id": tenant, "message_id": message_id})
    _sqs().send_message(QueueUrl=load(EmailSettings).send_queue_url, MessageBody=body)


# ----------------------------------------------------------------------------- email.send_requested

REQUEST_FILES = "requests"  # the files bucket's prefix for requesters' attachments, then the tenant


def held_for(tenant: str, bucket: str, key: str) -> bool:
    """Whether an attachment is where the sender may read it for this tenant: the email files bucket,
    under `requests/{tenant}/` (the sender's role reads that bucket only; a key of another tenant or
    a campaign's file is not the requester's to send)."""
    return bucket == load(EmailSettings).files_bucket and key.startswith(f"{REQUEST_FILES}/{tenant}/")


def _status(caller: Caller, request: EmailSendRequested) -> tuple[MessageStatus, str | None]:
    """Whether the mail may go, and why not."""
    if is_suppressed(caller, request.to):
        return MessageStatus.suppressed, "The address is suppressed (hard bounce or complaint)."
    if is_opted_out(caller, request.to, request.list_type_id):
        return MessageStatus.opted_out, "The recipient opted out of the list type."
    if attachments_too_large([a.size for a in request.attachments]):
        return MessageStatus.failed, "Attachments exceed 25 MB in all."
    elsewhere = [a.name for a in request.attachments if not held_for(caller.tenant, a.bucket, a.key)]
    if elsewhere:
        place = f"{load(EmailSettings).files_bucket}/{REQUEST_FILES}/{caller.tenant}/"
        return MessageStatus.failed, f"Attachments must be put in {place} first: {', '.join(elsewhere)}."
    if not request.template_id and not request.subject:
        return MessageStatus.failed, "A subject (or a template) is required."
    return MessageStatus.queued, None


def _erased(caller: Caller, contact_id: str) -> bool:
    """Whether the recipients projection knows the contact as erased (GDPR)."""
    row = recipients.PROJECTION.rows_of(caller.tenant, [contact_id]).get(contact_id)
    return row is not None and row.data.get("gone") == "erased"


def _content(caller: Caller, request: EmailSendRequested) -> EmailSendRequested:
    """The request with its template rendered (the contact's fields, its account, owner and `data`)."""
    if not request.template_id:
        return request
    template = templates.get_template(caller, request.template_id)
    if request.contact_id:
        context = recipients.context_for(caller, request.contact_id, request.data)
    else:  # an address that is no contact: only its own fields and the record
        context = tag_context({"email": request.to, "first_name": request.to_name}, None, request.data)
    from services.email.domain.rendering import render  # Jinja2: loaded by the first mail rendered

    rendered = render(template, context)
    return request.model_copy(update={"subject": rendered.subject, "html": rendered.html, "text": rendered.text})


def _domain(address: str) -> str:
    return normalise(address).rpartition("@")[2]


def sender_of(caller: Caller, request: EmailSendRequested) -> dict[str, Any]:
    """The From a request asks for, when the tenant may send from it: an address on the stack's
    sending domain or on its own From's domain (SES identities: the admin's From was verified when
    saved), any address through the tenant's own SMTP server. Otherwise the tenant's From stays and
    the asked address becomes a Reply-To, so that answers still reach it."""
    if not request.from_address:
        return {}
    setting = caller.setting(SENDER_SETTING)
    own = {load(SendingSettings).sending_domain.lower(), _domain(str(setting.get("from_address") or ""))}
    if setting.get("transport") == "smtp" or _domain(request.from_address) in own:
        return {"from_address": normalise(request.from_address), "from_name": request.from_name}
    return {"reply_to": [*request.reply_to, request.from_address]}


def _data(request: EmailSendRequested, message_id: str, status: MessageStatus, error: str | None) -> dict[str, Any]:
    return {
        "to": normalise(request.to),
        "to_name": request.to_name,
        "contact_id": request.contact_id,
        "account_id": request.account_id,
        "subject": request.subject,
        "list_type_id": request.list_type_id,
        "template_id": request.template_id,
        "status": status.value,
        "error": error,
        "request_id": request.request_id,
        "requester": request.requester,
        "message_id_header": message_id_header(message_id),
        "html": request.html,
        "text": request.text,
        "reply_to": request.reply_to,
        "in_reply_to": request.in_reply_to,
        "references": request.references,
        "attachments": [a.model_dump() for a in request.attachments],
        **({"headers": request.headers} if request.headers else {}),
    }


def _reason(exc: DomainError) -> str:
    return "; ".join([exc.detail, *(f"{e.field}: {e.message}" for e in exc.errors)])


def _refused(envelope: Envelope, exc: ValidationError) -> tuple[EmailSendRequested, str] | None:
    """A request the contract refuses: without its bad fields, and why (None when even that is no
    request: no requester, request id or recipient to record a mail under)."""
    reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    try:
        request = EmailSendRequested.model_validate({k: v for k, v in envelope.data.items() if k not in bad})
    except ValidationError:
        logger.warning("send request refused", extra={"event_id": envelope.id, "reasons": reasons})
        return None
    return request, f"The send request is not valid: {reasons}"


@subscribe("email.send_requested")
def on_send_requested(envelope: Envelope, uow: UnitOfWork) -> None:
    refused: str | None = None
    try:
        request = EmailSendRequested.model_validate(envelope.data)
    except ValidationError as exc:  # the same event would be refused again: never retried
        outcome = _refused(envelope, exc)
        if outcome is None:
            return
        request, refused = outcome
    caller = service_caller(envelope.tenant_id)
    message_id = sent_message_id(request.requester, request.request_id)
    existing = caller.store.get(caller.tenant, KIND, message_id)
    if existing is not None:
        if existing.data.get("status") == MessageStatus.queued:
            enqueue(caller.tenant, message_id)  # an earlier delivery may have stopped before queueing
        return
    if request.contact_id:  # a merged contact's request: the survivor's mail
        survivor = merges.resolve(caller.store, caller.tenant, "contact", request.contact_id)
        request = request.model_copy(update={"contact_id": survivor})
    status, error = (MessageStatus.failed, refused) if refused else _status(caller, request)
    erased = bool(request.contact_id) and _erased(caller, str(request.contact_id))
    if erased:
        status, error = MessageStatus.skipped, None
    if status == MessageStatus.queued:
        try:
            request = _content(caller, request)
        except DomainError as exc:  # unknown template or contact, a tag the data lacks: the event cannot be refused
            status, error = MessageStatus.failed, _reason(exc)
    data = _data(request, message_id, status, error) | sender_of(caller, request)
    if erased:  # a request that comes after the contact's erasure: recorded without the person, not sent
        data = {**erased_message(data, clock.iso(clock.now())), "error": "The contact was erased."}
    record = new_message_record(caller, message_id, data)
    if status != MessageStatus.queued:
        caller.store.add(uow, record)  # final now: commits with the dedupe marker, and so does its email.failed
        if (failed := failed_event(caller, message_id, record.data)) is not None:
            uow.publish(failed)
        logger.info("mail not sent", extra={"message_id": message_id, "status": status.value})
        return
    own = UnitOfWork()
    caller.store.add(own, record)
    with suppress(ConcurrentUpdate):  # a concurrent delivery wrote it first: queueing it again is harmless
        own.commit()
    enqueue(caller.tenant, message_id)


# ----------------------------------------------------------------------------- reads


def list_messages(caller: Caller, filters: MessageFilter, cursor: str | None, limit: int) -> Page[Message]:
    """The tenant's mails, or a contact's, newest first, filtered.

    One index partition ordered by time serves each: `by_type` (`T#<t>#MESSAGE` / `<created_at>#<id>`)
    for the tenant's, `by_contact` for a contact's, so a page costs the same at any table size; the
    time range is a key condition. Status, campaign and template filter the items read, page-wise
    (the kernel's `partition_page`: a page may be shorter than `limit` with a cursor). A user who
    does not see every contact gets only mails to contacts they may see and mails to no contact
    (as `get_message` shows them); a contact they may not see lists nothing (as an unknown one).
    """
    if filters.contact_id and recipients.hidden_from(caller, [filters.contact_id]):
        return Page[Message](items=[], next_cursor=None)
    if filters.contact_id:
        index, key, sort_key = Record.by_contact, contact_key(caller.tenant, filters.contact_id), Record.gsi2sk
    else:
        index, key, sort_key = Record.by_type, tenant_key(caller.tenant, KIND.upper()), Record.gsi1sk
    digest = hashlib.sha256(filters.model_dump_json().encode()).hexdigest()[:16]
    conditions = [
        Record.fields[name] == value
        for name, value in (("status", filters.status and filters.status.value), ("campaign_id", filters.campaign_id))
        if value is not None
    ]
    if filters.template_id is not None:
        conditions.append(Record.fields["template_id"] == filters.template_id)
    condition = None
    for part in conditions:
        condition = part if condition is None else condition & part
    everyone = caller.sees_every_contact or filters.contact_id  # a contact's mails: checked above
    return partition_page(
        caller,
        f"messages:{digest}",
        cursor,
        limit,
        index,
        key,
        sort_key,
        Message,
        newest_first=True,
        lower=clock.iso(filters.since) if filters.since else None,
        upper=clock.iso(filters.until) if filters.until else None,
        condition=condition,
        keep=None if everyone else (lambda records: _visible(caller, records)),
    )


def _visible(caller: Caller, records: list[Record]) -> list[Record]:
    """The messages of `records` the caller may see: to a contact they see, or to no contact."""
    hidden = recipients.hidden_from(caller, [c for r in records if (c := r.data.get("contact_id"))])
    return [r for r in records if r.data.get("contact_id") not in hidden]


def get_message(caller: Caller, message_id: str) -> Message:
    record = caller.store.get(caller.tenant, KIND, message_id)
    contact_id = record.data.get("contact_id") if record else None
    if record is None or (contact_id and recipients.hidden_from(caller, [contact_id])):
        raise NotFound("No such message.")
    return model_of(record, Message)
