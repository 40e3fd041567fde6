"""Campaigns [issue 5 item 3]: one template mailed to the members of a target group.

Records (kinds of the email table):
- `campaign`, id a ULID (or the id an automation gives): data {name, template_id, list_type_id,
  target_group_id, tracking, attachments, automatic_template_id, once_scope, status, error,
  send_at, started_at, audience {pages, last_page, total, complete}, origin, created_*}.
- Its recipients are message records (`transactional.new_message_record`) with id
  `derived_id(once_scope, contact_id)`, data `campaign_id`, listed by `by_parent` gsi3
  `T#<t>#CAMPAIGN#<id>#MESSAGE` / message id: a contact is mailed once per scope, however often a
  page arrives.

Sending: `start_send` sets "sending" and publishes `audience.requested` in one transaction; each
`audience.page` stages its members in bulk (BatchGet of the existing messages, recipient rows,
suppressions and opt-outs; transactions of at most `CHUNK` messages with their counters), then
queues the queued ones (SendMessageBatch), then records the page on the campaign. Writing before
queueing and re-queueing still-queued messages on a redelivery means a crash anywhere neither
loses nor doubles a mail.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3

from services.email import campaign_files, list_types, recipients, stats, templates
from services.email.domain.campaigns import (
    AUDIENCE_FIELDS,
    CANCELLABLE,
    EDITABLE,
    PAUSABLE,
    RESUMABLE,
    SCHEDULABLE,
    SCHEDULE,
    SEND_JOB,
    SENDABLE,
    AddedContact,
    AttachmentCreate,
    AttachmentUpload,
    Campaign,
    CampaignCreate,
    CampaignStatus,
    CampaignUpdate,
    ContactsAdd,
    ContactsAdded,
    ScheduleRequest,
    audience_with,
    shown_status,
)
from services.email.domain.messages import Message, message_id_header, normalise
from services.email.domain.templates import Rendered, TemplateParts, render, tag_context
from services.email.service import Caller, commit, model_of, page, service_caller
from services.email.settings import EmailSettings
from services.email.store import EmailStore, Record
from services.email.subscriptions import job, subscribe
from services.email.transactional import KIND as MESSAGE
from services.email.transactional import new_message_record
from shared import clock, scheduler
from shared.contracts.audience import AudienceMember, AudiencePage, AudienceRequested
from shared.errors import Conflict, DomainError, NotFound, ValidationFailed
from shared.events import Envelope
from shared.ids import derived_id, new_id
from shared.observability import logger
from shared.pagination import Page
from shared.schedules import Firing, at_plan
from shared.settings import load
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork, run_with_retries, tenant_key

KIND = "campaign"
REQUESTER = "email"
CHUNK = 80  # messages per staging transaction (+ at most 10 counter shards: under DynamoDB's 100)
SQS_BATCH = 10


# ----------------------------------------------------------------------------- records


def recipients_key(tenant: str, campaign_id: str) -> str:
    return tenant_key(tenant, "CAMPAIGN", campaign_id, MESSAGE.upper())


def _record(caller: Caller, campaign_id: str) -> Record:
    record = caller.store.get(caller.tenant, KIND, campaign_id)
    if record is None:
        raise NotFound(f"No campaign {campaign_id}.")
    return record


def _view(caller: Caller, record: Record) -> Campaign:
    counts = stats.read_counts(caller.tenant, record.record_id)
    campaign = model_of(record, Campaign)
    status = shown_status(record.data["status"], record.data.get("audience"), counts)
    return campaign.model_copy(update={"stats": counts, "status": status})


def _check_refs(caller: Caller, values: dict[str, Any]) -> None:
    """422 naming each template or list type the campaign names that does not exist."""
    errors: list[DomainError] = []
    for field in ("template_id", "automatic_template_id"):
        if values.get(field) and caller.store.get(caller.tenant, templates.TEMPLATE, values[field]) is None:
            errors.append(ValidationFailed.on(field, f"No template {values[field]}.", "not_found"))
    if values.get("list_type_id"):
        try:
            list_types.get_list_type(caller, values["list_type_id"])
        except NotFound:
            errors.append(ValidationFailed.on("list_type_id", f"No list type {values['list_type_id']}.", "not_found"))
    if errors:
        raise ValidationFailed("The campaign names records that do not exist.", [e for x in errors for e in x.errors])


def _conflict(record: Record, doing: str) -> Conflict:
    return Conflict(f"Campaign {record.record_id} is {record.data['status']}: it cannot {doing}.")


# ----------------------------------------------------------------------------- commands


def create_campaign(
    caller: Caller,
    body: CampaignCreate,
    campaign_id: str | None = None,
    once_scope: str | None = None,
    origin: dict[str, Any] | None = None,
) -> Campaign:
    """A draft campaign; with a `campaign_id` given, the campaign of that id if it exists already."""
    if campaign_id is not None:
        existing = caller.store.get(caller.tenant, KIND, campaign_id)
        if existing is not None:
            return _view(caller, existing)
    _check_refs(caller, body.model_dump())
    campaign_id = campaign_id or new_id()
    at = clock.iso(clock.now())
    data = {
        **body.model_dump(mode="json"),
        "attachments": [],
        "once_scope": once_scope or campaign_id,
        "status": CampaignStatus.draft.value,
        "audience": {},
        "origin": origin,
        "created_at": at,
        "updated_at": at,
        "created_by": caller.user_id,
    }
    record = caller.store.new(caller.tenant, KIND, campaign_id, data)
    uow = UnitOfWork()
    uow.save(record, condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)
    try:
        uow.commit()
    except AlreadyApplied:  # a concurrent create of the same id
        return _view(caller, _record(caller, campaign_id))
    return _view(caller, record)


def get_campaign(caller: Caller, campaign_id: str) -> Campaign:
    return _view(caller, _record(caller, campaign_id))


def list_campaigns(caller: Caller, cursor: str | None, limit: int) -> Page[Campaign]:
    listed = page(
        caller,
        KIND,
        cursor,
        limit,
        lambda after, n: caller.store.page_by_type(caller.tenant, KIND, (after or {}).get("id"), n),
        lambda record: {"id": record.record_id},
        Campaign,
    )
    for item in listed.items:
        counts = stats.read_counts(caller.tenant, item.id)
        item.stats = counts
        item.status = shown_status(item.status, item.audience.model_dump(), counts)
    return listed


def update_campaign(caller: Caller, campaign_id: str, body: CampaignUpdate) -> Campaign:
    changes = body.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    for required in ("name", "template_id", "list_type_id", "tracking"):
        if required in changes and changes[required] is None:
            raise ValidationFailed.on(required, "May not be null.", "required")
    _check_refs(caller, changes)

    def attempt() -> Campaign:
        record = _record(caller, campaign_id)
        if body.version is not None and body.version != record.version:
            raise Conflict(f"Campaign {campaign_id} was changed since version {body.version}.")
        if record.data["status"] not in EDITABLE:
            raise _conflict(record, "be changed")
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, **changes, "updated_at": clock.iso(clock.now())})
        uow.commit()
        return _view(caller, record)

    return commit(attempt)


def delete_campaign(caller: Caller, campaign_id: str) -> None:
    def attempt() -> None:
        record = _record(caller, campaign_id)
        if record.data["status"] not in EDITABLE:
            raise _conflict(record, "be deleted")
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        uow.commit()

    run_with_retries(attempt)


def _change(caller: Caller, campaign_id: str, allowed: Iterable[str], doing: str, changes: dict[str, Any]) -> Record:
    """Move the campaign to new data if its stored status allows it; 409 otherwise; retried."""

    def attempt() -> Record:
        record = _record(caller, campaign_id)
        if record.data["status"] not in allowed:
            raise _conflict(record, doing)
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, **changes, "updated_at": clock.iso(clock.now())})
        uow.commit()
        return record

    result: Record = run_with_retries(attempt)
    return result


def start_send(caller: Caller, campaign_id: str) -> Campaign:
    """Start sending now: "sending", and the audience request in the same transaction.

    A campaign already sending (or beyond) is returned unchanged.
    """

    def attempt() -> Record:
        record = _record(caller, campaign_id)
        status = record.data["status"]
        if status not in SENDABLE:
            if status in (CampaignStatus.sending, CampaignStatus.paused, CampaignStatus.failed):
                return record
            raise _conflict(record, "be sent")
        now = clock.iso(clock.now())
        uow = UnitOfWork()
        data = {**record.data, "status": CampaignStatus.sending.value, "started_at": now, "updated_at": now}
        target_group_id = record.data.get("target_group_id")
        if target_group_id:
            request = AudienceRequested(
                request_id=campaign_id, requester=REQUESTER, target_group_id=target_group_id, fields=AUDIENCE_FIELDS
            )
            event_id = derived_id(caller.tenant, campaign_id, "audience.requested")
            uow.publish(caller.event("audience.requested", request, event_id=event_id))
        else:  # hand-added contacts only: the audience is complete as it is
            data["audience"] = {"pages": [], "last_page": 0, "total": 0, "complete": True}
        caller.store.replace(uow, record, data)
        uow.commit()
        return record

    record: Record = run_with_retries(attempt)
    _unschedule(caller, record)
    return _view(caller, record)


def pause(caller: Caller, campaign_id: str) -> Campaign:
    """Hold the mails not sent yet (the sender leaves them queued); 409 once everything went."""
    record = _record(caller, campaign_id)
    if _view(caller, record).status == CampaignStatus.sent:
        raise Conflict(f"Campaign {campaign_id} is sent: it cannot be paused.")
    return _view(caller, _change(caller, campaign_id, PAUSABLE, "be paused", {"status": CampaignStatus.paused.value}))


def resume(caller: Caller, campaign_id: str) -> Campaign:
    """Sending again: the mails the sender left queued while paused are queued again."""
    record = _change(caller, campaign_id, RESUMABLE, "be resumed", {"status": CampaignStatus.sending.value})
    queued = [r.record_id for r in _recipient_records(caller.tenant, campaign_id) if r.data.get("status") == "queued"]
    enqueue_many(caller.tenant, queued, campaign_id)
    return _view(caller, record)


def cancel(caller: Caller, campaign_id: str) -> Campaign:
    """Cancelled: the mails still queued are skipped (a paused campaign's have no queue message left)."""
    record = _change(caller, campaign_id, CANCELLABLE, "be cancelled", {"status": CampaignStatus.cancelled.value})
    _unschedule(caller, record)
    queued = [r for r in _recipient_records(caller.tenant, campaign_id) if r.data.get("status") == "queued"]
    for start in range(0, len(queued), CHUNK):
        _skip(caller, campaign_id, queued[start : start + CHUNK])
    return _view(caller, record)


def _skip(caller: Caller, campaign_id: str, records: list[Record]) -> None:
    """Mark queued messages skipped with their counters; one a sender took meanwhile is left to it."""
    try:
        _commit_skip(caller, campaign_id, records)
    except ConcurrentUpdate:
        for one in records:
            with suppress(ConcurrentUpdate):
                fresh = caller.store.get(caller.tenant, MESSAGE, one.record_id)
                if fresh is not None and fresh.data.get("status") == "queued":
                    _commit_skip(caller, campaign_id, [fresh])


def _commit_skip(caller: Caller, campaign_id: str, records: list[Record]) -> None:
    uow = UnitOfWork()
    shards: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for record in records:
        caller.store.replace(uow, record, {**record.data, "status": "skipped", "error": "The campaign was cancelled."})
        counts = shards[stats.shard_of(record.record_id)]
        counts["queued"] -= 1
        counts["skipped"] += 1
    for shard, deltas in shards.items():
        stats.stage_shard_counts(uow, caller.tenant, campaign_id, shard, dict(deltas))
    uow.commit()


# ----------------------------------------------------------------------------- scheduled sending


def schedule(caller: Caller, campaign_id: str, body: ScheduleRequest) -> Campaign:
    """Send at `send_at`: "scheduled", and a one-time schedule that puts `campaign.send` on the jobs queue.

    A scheduled campaign may be scheduled again (the schedule, named after the campaign, moves).
    """
    send_at = body.send_at.replace(microsecond=0)
    plan = at_plan(send_at, "UTC", clock.now())
    if plan is None:
        raise ValidationFailed.on("send_at", "Give a time in the future.", "past")
    changes = {"status": CampaignStatus.scheduled.value, "send_at": clock.iso(send_at)}
    record = _change(caller, campaign_id, SCHEDULABLE, "be scheduled", changes)
    scheduler.save_record_schedule(SCHEDULE, caller.tenant, campaign_id, plan)
    return _view(caller, record)


def _unschedule(caller: Caller, record: Record) -> None:
    """Remove the campaign's schedule, if it had one (one that fired is gone already)."""
    if record.data.get("send_at"):
        scheduler.delete_record_schedule(SCHEDULE, record.record_id)


def _stored(tenant: str, campaign_id: str) -> Record | None:
    return EmailStore().get(tenant, KIND, campaign_id)


@job(SEND_JOB)
@scheduler.on_firing(SCHEDULE, _stored, lambda record, _: record.data["status"] == CampaignStatus.scheduled)
def run_scheduled_send(record: Record, fired: Firing) -> None:
    """A campaign's schedule fired: send it, unless it was sent, paused or cancelled meanwhile."""
    start_send(service_caller(fired.tenant_id), record.record_id)


# ----------------------------------------------------------------------------- recipients


def _recipient_records(tenant: str, campaign_id: str) -> Iterable[Record]:
    return Record.by_parent.query(recipients_key(tenant, campaign_id), page_size=500)


def list_recipients(
    caller: Caller, campaign_id: str, status: str | None, cursor: str | None, limit: int
) -> Page[Message]:
    """The campaign's recipients (their messages) in message id order, optionally of one status."""
    _record(caller, campaign_id)

    def fetch(after: dict[str, Any] | None, count: int) -> list[Record]:
        model: Any = Record
        condition = model.gsi3sk > after["id"] if after else None
        query = Record.by_parent.query(
            recipients_key(caller.tenant, campaign_id),
            range_key_condition=condition,
            filter_condition=(model.fields["status"] == status) if status else None,
            page_size=max(count, 50),
        )
        found: list[Record] = []
        for record in query:
            found.append(record)
            if len(found) >= count:
                break
        return found

    scope = f"campaign:{campaign_id}:{status or ''}"
    return page(caller, scope, cursor, limit, fetch, lambda r: {"id": r.record_id}, Message)


# ----------------------------------------------------------------------------- the send queue


@cache
def _sqs() -> Any:
    return boto3.client("sqs")


def enqueue_many(tenant: str, message_ids: list[str], campaign_id: str) -> None:
    """Queue messages on the send queue, ten per SendMessageBatch; raises if any entry failed."""
    url = load(EmailSettings).send_queue_url
    for start in range(0, len(message_ids), SQS_BATCH):
        chunk = message_ids[start : start + SQS_BATCH]
        entries = [
            {
                "Id": str(i),
                "MessageBody": json.dumps({"tenant_id": tenant, "message_id": m, "campaign_id": campaign_id}),
            }
            for i, m in enumerate(chunk)
        ]
        result = _sqs().send_message_batch(QueueUrl=url, Entries=entries)
        if result.get("Failed"):
            raise RuntimeError(f"send queue refused {len(result['Failed'])} of {len(chunk)} messages")


# ----------------------------------------------------------------------------- staging


@dataclass(frozen=True)
class Member:
    """One recipient to stage: the contact and what the audience page carried of it."""

    contact_id: str
    fields: dict[str, Any]


def _context(member: Member, known: dict[str, Any] | None) -> dict[str, Any]:
    """The member's tag context from the projection; what the audience page carried if it has not heard of it."""
    if known is not None:
        return known
    return tag_context({"id": member.contact_id, **member.fields}, None, None)


def _message_data(
    caller: Caller,
    campaign_id: str,
    campaign: dict[str, Any],
    message_id: str,
    member: Member,
    context: dict[str, Any],
    template: TemplateParts,
    blocked: tuple[set[str], set[str]],
) -> dict[str, Any]:
    """The message of one member: queued with its rendered mail, or why it does not go."""
    suppressed, opted_out = blocked
    contact = context.get("contact") or {}
    address = contact.get("email")
    data: dict[str, Any] = {
        "to": normalise(address) if address else "",
        "to_name": " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p) or None,
        "contact_id": member.contact_id,
        "account_id": contact.get("account_id"),
        "list_type_id": campaign["list_type_id"],
        "campaign_id": campaign_id,
        "requester": "campaign",
        "request_id": campaign_id,
        "message_id_header": message_id_header(message_id),
        "tracking": campaign.get("tracking"),
        "attachments": campaign.get("mail_attachments") or [],
        "reply_to": [],
        "references": [],
    }
    if context.get("gone"):
        return {**data, "status": "skipped", "error": f"The contact was {context['gone']}."}
    if not address:
        return {**data, "status": "skipped", "error": "The contact has no email address."}
    if data["to"] in suppressed:
        return {**data, "status": "suppressed", "error": "The address is suppressed (hard bounce or complaint)."}
    if data["to"] in opted_out:
        return {**data, "status": "opted_out", "error": "The recipient opted out of the list type."}
    try:
        rendered: Rendered = render(template, context)
    except DomainError as exc:
        return {**data, "status": "failed", "error": exc.detail}
    return {**data, "status": "queued", "subject": rendered.subject, "html": rendered.html, "text": rendered.text}


def _mail_attachments(caller: Caller, campaign_id: str, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    return campaign_files.mail_refs(caller.tenant, campaign_id, campaign.get("attachments") or [])


def _blocked(caller: Caller, addresses: list[str], list_type_id: str) -> tuple[set[str], set[str]]:
    """Which of the addresses are suppressed, and which opted out of the list type (BatchGets)."""
    by_suppression = {derived_id(a): a for a in addresses}
    by_optout = {derived_id(a, list_type_id): a for a in addresses}
    suppressed = caller.store.get_many(caller.tenant, list_types.SUPPRESSION, list(by_suppression))
    opted_out = caller.store.get_many(caller.tenant, list_types.OPTOUT, list(by_optout))
    return {by_suppression[i] for i in suppressed}, {by_optout[i] for i in opted_out}


def _get_many(caller: Caller, kind: str, ids: list[str]) -> dict[str, Record]:
    found: dict[str, Record] = {}
    for start in range(0, len(ids), 100):
        found.update(caller.store.get_many(caller.tenant, kind, ids[start : start + 100]))
    return found


def stage_members(
    caller: Caller, campaign_id: str, campaign: dict[str, Any], members: list[Member], template_id: str
) -> list[AddedContact]:
    """Every member's message exists and every queued one is on the send queue afterwards.

    A member whose message exists already is not written again (its still-queued message is
    queued again: an earlier attempt may have stopped before queueing).
    """
    scope = campaign["once_scope"]
    ids = {m.contact_id: derived_id(scope, m.contact_id) for m in members}
    existing = _get_many(caller, MESSAGE, list(ids.values()))
    todo = [m for m in dict((m.contact_id, m) for m in members).values() if ids[m.contact_id] not in existing]
    results = [
        AddedContact(contact_id=c, message_id=m, status=existing[m].data.get("status", "queued"))
        for c, m in ids.items()
        if m in existing
    ]
    requeue = [m for m in existing if existing[m].data.get("status") == "queued"]
    if todo:
        template = templates.get_template(caller, template_id)
        known = recipients.contexts_for(caller, [m.contact_id for m in todo])
        contexts = {m.contact_id: _context(m, known.get(m.contact_id)) for m in todo}
        addresses = [normalise(a) for c in contexts.values() if (a := (c.get("contact") or {}).get("email"))]
        campaign = {**campaign, "mail_attachments": _mail_attachments(caller, campaign_id, campaign)}
        blocked = _blocked_chunked(caller, addresses, campaign["list_type_id"])
        staged: list[tuple[str, dict[str, Any]]] = []
        for member in todo:
            message_id = ids[member.contact_id]
            data = _message_data(
                caller, campaign_id, campaign, message_id, member, contexts[member.contact_id], template, blocked
            )
            staged.append((message_id, data))
        written = _write_messages(caller, campaign_id, staged)
        results += [AddedContact(contact_id=d["contact_id"], message_id=m, status=d["status"]) for m, d in staged]
        requeue += [m for m, d in staged if d["status"] == "queued" and m in written]
    enqueue_many(caller.tenant, requeue, campaign_id)
    return results


def _blocked_chunked(caller: Caller, addresses: list[str], list_type_id: str) -> tuple[set[str], set[str]]:
    suppressed: set[str] = set()
    opted_out: set[str] = set()
    unique = list(dict.fromkeys(addresses))
    for start in range(0, len(unique), 100):
        s, o = _blocked(caller, unique[start : start + 100], list_type_id)
        suppressed |= s
        opted_out |= o
    return suppressed, opted_out


def _write_messages(caller: Caller, campaign_id: str, staged: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """Write the messages in transactions of `CHUNK` with their counters; returns the ids written
    (or found written by a concurrent delivery)."""
    written: set[str] = set()
    for start in range(0, len(staged), CHUNK):
        chunk = staged[start : start + CHUNK]
        try:
            _commit_chunk(caller, campaign_id, chunk)
            written |= {m for m, _ in chunk}
        except ConcurrentUpdate:  # some were written concurrently: write the others one by one
            for one in chunk:
                with suppress(ConcurrentUpdate):
                    _commit_chunk(caller, campaign_id, [one])
                written.add(one[0])
    return written


def _commit_chunk(caller: Caller, campaign_id: str, chunk: list[tuple[str, dict[str, Any]]]) -> None:
    uow = UnitOfWork()
    shards: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for message_id, data in chunk:
        record = new_message_record(caller, message_id, data)
        record.gsi3pk, record.gsi3sk = recipients_key(caller.tenant, campaign_id), message_id
        caller.store.add(uow, record)
        counts = shards[stats.shard_of(message_id)]
        counts["recipients"] += 1
        counts[data["status"]] += 1
    for shard, deltas in shards.items():
        stats.stage_shard_counts(uow, caller.tenant, campaign_id, shard, dict(deltas))
    uow.commit()


# ----------------------------------------------------------------------------- audience pages


@subscribe("audience.page")
def on_audience_page(envelope: Envelope, uow: UnitOfWork) -> None:
    """Stage one page of a sending campaign's members, then record the page on the campaign."""
    audience = AudiencePage.model_validate(envelope.data)
    if audience.requester != REQUESTER:
        return
    caller = service_caller(envelope.tenant_id)
    record = caller.store.get(caller.tenant, KIND, audience.request_id)
    if record is None:
        logger.warning("audience page of no campaign", extra={"request_id": audience.request_id})
        return
    campaign_id = record.record_id
    if audience.error:
        _fail(caller, campaign_id, audience.error)
        return
    if record.data["status"] in (CampaignStatus.sending, CampaignStatus.paused):
        members = [_member(m) for m in audience.members]
        try:
            stage_members(caller, campaign_id, record.data, members, record.data["template_id"])
        except NotFound as exc:  # the template was deleted since: nothing can be sent
            _fail(caller, campaign_id, exc.detail)
            return
    _record_page(caller, campaign_id, audience)
    logger.info("campaign page", extra={"campaign_id": campaign_id, "page": audience.page})


def _member(member: AudienceMember) -> Member:
    return Member(contact_id=member.contact_id, fields={"account_id": member.account_id, **member.fields})


def _record_page(caller: Caller, campaign_id: str, audience: AudiencePage) -> None:
    def attempt() -> None:
        record = _record(caller, campaign_id)
        progress = audience_with(record.data.get("audience"), audience.page, audience.last, audience.total_members)
        if progress == record.data.get("audience"):
            return
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, "audience": progress})
        uow.commit()

    run_with_retries(attempt)


def _fail(caller: Caller, campaign_id: str, error: str) -> None:
    def attempt() -> None:
        record = _record(caller, campaign_id)
        if record.data["status"] == CampaignStatus.failed:
            return
        uow = UnitOfWork()
        changes = {"status": CampaignStatus.failed.value, "error": error, "updated_at": clock.iso(clock.now())}
        caller.store.replace(uow, record, {**record.data, **changes})
        uow.commit()

    run_with_retries(attempt)
    logger.warning("campaign failed", extra={"campaign_id": campaign_id, "error": error})


# ----------------------------------------------------------------------------- hand-added contacts


def add_contacts(caller: Caller, campaign_id: str, body: ContactsAdd) -> ContactsAdded:
    """Contacts added by hand each get the campaign's automatic template once (a campaign message)."""
    record = _record(caller, campaign_id)
    template_id = record.data.get("automatic_template_id")
    if not template_id:
        raise ValidationFailed.on("contact_ids", "The campaign has no automatic template.", "no_automatic_template")
    if record.data["status"] in (CampaignStatus.cancelled, CampaignStatus.failed):
        raise _conflict(record, "take contacts")
    members = [Member(contact_id=c, fields={}) for c in body.contact_ids]
    return ContactsAdded(items=stage_members(caller, campaign_id, record.data, members, template_id))


# ----------------------------------------------------------------------------- attachments


def add_attachment(caller: Caller, campaign_id: str, body: AttachmentCreate) -> AttachmentUpload:
    """A new attachment of a draft campaign and where to upload it (within the 5 MB of the campaign)."""

    def attempt() -> AttachmentUpload:
        record = _record(caller, campaign_id)
        if record.data["status"] not in EDITABLE:
            raise _conflict(record, "take attachments")
        current = record.data.get("attachments") or []
        attachment = campaign_files.planned(current, body)
        attachments = [*current, attachment.model_dump()]
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, "attachments": attachments})
        uow.commit()
        return campaign_files.upload_of(caller.tenant, campaign_id, attachments, attachment)

    result: AttachmentUpload = run_with_retries(attempt)
    return result


def _attachments_changed(caller: Caller, campaign_id: str, change: Any) -> Campaign:
    def attempt() -> Record:
        record = _record(caller, campaign_id)
        if record.data["status"] not in EDITABLE:
            raise _conflict(record, "change attachments")
        attachments = change(record.data.get("attachments") or [])
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, "attachments": attachments})
        uow.commit()
        return record

    record: Record = run_with_retries(attempt)
    return _view(caller, record)


def confirm_attachment(caller: Caller, campaign_id: str, file_id: str) -> Campaign:
    return _attachments_changed(
        caller, campaign_id, lambda current: campaign_files.confirmed(caller.tenant, campaign_id, current, file_id)
    )


def remove_attachment(caller: Caller, campaign_id: str, file_id: str) -> Campaign:
    return _attachments_changed(
        caller, campaign_id, lambda current: campaign_files.removed(caller.tenant, campaign_id, current, file_id)
    )
