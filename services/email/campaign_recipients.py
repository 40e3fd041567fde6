"""A campaign's recipients [issue 5 item 3]: its audience's pages and the contacts added by hand
become messages, which go on the send queue; the list of them with their statuses.

Its recipients are message records (`transactional.new_message_record`) with id
`derived_id(once_scope, contact_id)`, data `campaign_id`, listed by `by_parent` gsi3
`T#<t>#CAMPAIGN#<id>#MESSAGE` / message id: a contact is mailed once per scope, however often a
page arrives.

Each `audience.page` stages its members in bulk (BatchGet of the existing messages, recipient rows,
suppressions and opt-outs; transactions of at most `CHUNK` messages with their counters), then
queues the queued ones (SendMessageBatch), then records the page on the campaign. Writing before
queueing and re-queueing still-queued messages on a redelivery means a crash anywhere neither
loses nor doubles a mail. What one member's message is: domain/campaign_recipients.py.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from services.email import campaign_files, list_types, recipients, stats
from services.email.campaigns import KIND, conflict, record_of, template_of
from services.email.domain.campaign_recipients import (
    AddedContact,
    ContactsAdd,
    ContactsAdded,
    Member,
    member_context,
    message_data,
)
from services.email.domain.campaigns import REQUESTER, CampaignStatus
from services.email.domain.list_types import optout_id, suppression_id
from services.email.domain.messages import Message, normalise
from services.email.service import Caller, service_caller
from services.email.settings import EmailSettings
from services.email.store import Record
from services.email.subscriptions import subscribe
from services.email.transactional import KIND as MESSAGE
from services.email.transactional import new_message_record
from shared import merges
from shared.bulk_send import AudienceSends, messages_page, send_batches, write_messages
from shared.contracts.audience import AudienceMember, AudiencePage
from shared.errors import NotFound, ValidationFailed
from shared.events import Envelope
from shared.ids import derived_id
from shared.pagination import Page
from shared.permissions import Action
from shared.settings import load
from shared.store import DataItem, UnitOfWork, tenant_key

# ----------------------------------------------------------------------------- records


def recipients_key(tenant: str, campaign_id: str) -> str:
    return tenant_key(tenant, "CAMPAIGN", campaign_id, MESSAGE.upper())


def recipient_records(tenant: str, campaign_id: str) -> Iterable[Record]:
    return Record.by_parent.query(recipients_key(tenant, campaign_id), page_size=500)


def list_recipients(
    caller: Caller, campaign_id: str, status: str | None, cursor: str | None, limit: int
) -> Page[Message]:
    """The campaign's recipients (their messages) in message id order, optionally of one status."""
    record_of(caller, campaign_id)
    key, scope = recipients_key(caller.tenant, campaign_id), f"campaign:{campaign_id}:{status or ''}"
    hidden = lambda ids: recipients.hidden_from(caller, ids)  # noqa: E731
    return messages_page(caller, Record, key, status, scope, cursor, limit, Message, hidden)


# ----------------------------------------------------------------------------- the send queue


def enqueue_many(tenant: str, message_ids: list[str], campaign_id: str) -> None:
    """Queue messages on the send queue, ten per SendMessageBatch; raises if any entry failed."""
    bodies = [json.dumps({"tenant_id": tenant, "message_id": m, "campaign_id": campaign_id}) for m in message_ids]
    send_batches(load(EmailSettings).send_queue_url, bodies)


# ----------------------------------------------------------------------------- staging


def _mail_attachments(caller: Caller, campaign_id: str, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    return campaign_files.mail_refs(caller.tenant, campaign_id, campaign.get("attachments") or [])


def _blocked(caller: Caller, addresses: list[str], list_type_id: str) -> tuple[set[str], set[str]]:
    """Which of the addresses are suppressed, and which opted out of the list type (BatchGets)."""
    by_suppression = {suppression_id(a): a for a in addresses}
    by_optout = {optout_id(a, list_type_id): a for a in addresses}
    suppressed = caller.store.get_many(caller.tenant, list_types.SUPPRESSION, list(by_suppression))
    opted_out = caller.store.get_many(caller.tenant, list_types.OPTOUT, list(by_optout))
    return {by_suppression[i] for i in suppressed}, {by_optout[i] for i in opted_out}


def _get_many(caller: Caller, kind: str, ids: list[str]) -> dict[str, Record]:
    found: dict[str, Record] = {}
    for start in range(0, len(ids), 100):
        found.update(caller.store.get_many(caller.tenant, kind, ids[start : start + 100]))
    return found


def stage_members(
    caller: Caller,
    campaign_id: str,
    campaign: dict[str, Any],
    members: list[Member],
    template_id: str,
    hidden: Collection[str] = (),
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
        template = template_of(caller, campaign_id, template_id)  # its copy (services/email/campaigns.py)
        known = recipients.contexts_for(caller, [m.contact_id for m in todo if m.contact_id not in hidden])
        contexts = {m.contact_id: member_context(m, known.get(m.contact_id)) for m in todo}
        addresses = [normalise(a) for c in contexts.values() if (a := (c.get("contact") or {}).get("email"))]
        campaign = {**campaign, "mail_attachments": _mail_attachments(caller, campaign_id, campaign)}
        blocked = _blocked_chunked(caller, addresses, campaign["list_type_id"])
        staged: list[tuple[str, dict[str, Any]]] = []
        for member in todo:
            message_id = ids[member.contact_id]
            data = message_data(
                campaign_id, campaign, message_id, member, contexts[member.contact_id], template, blocked
            )
            staged.append((message_id, {**data, "template_id": template_id}))
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
    """Write the messages with their counters (shared/bulk_send.py); returns the ids written
    (or found written by a concurrent delivery)."""
    key = recipients_key(caller.tenant, campaign_id)
    return write_messages(caller, campaign_id, staged, new_message_record, key, stats.COUNTERS)


# ----------------------------------------------------------------------------- audience pages


SENDS = AudienceSends(REQUESTER, KIND, "campaign", service_caller)


@subscribe("audience.page")
def on_audience_page(envelope: Envelope, uow: UnitOfWork) -> None:
    """Stage one page of a sending campaign's members, then record the page on the campaign."""
    SENDS.on_page(envelope, _stage_page, CampaignStatus.failed.value, keep=(CampaignStatus.failed,))


def _stage_page(caller: Caller, record: DataItem, audience: AudiencePage) -> bool:
    if record.data["status"] in (CampaignStatus.sending, CampaignStatus.paused):
        members = [_member(m) for m in audience.members]
        try:
            stage_members(caller, record.record_id, record.data, members, record.data["template_id"])
        except NotFound as exc:  # the template was deleted since: nothing can be sent
            _fail(caller, record.record_id, exc.detail)
            return False
    return True


def _member(member: AudienceMember) -> Member:
    return Member(contact_id=member.contact_id, fields={"account_id": member.account_id, **member.fields})


def _fail(caller: Caller, campaign_id: str, error: str) -> None:
    SENDS.fail(caller, campaign_id, error, CampaignStatus.failed.value, keep=(CampaignStatus.failed,))


# ----------------------------------------------------------------------------- hand-added contacts


def current_ids(caller: Caller, contact_ids: list[str]) -> list[str]:
    """The ids, a merged contact's as its survivor's (`shared/merges.py`: one BatchGet of the
    merge markers, a chain followed only for a merged id)."""
    merged = caller.store.get_many(caller.tenant, merges.marker_kind("contact"), contact_ids)
    resolved = {i: merges.resolve(caller.store, caller.tenant, "contact", i) for i in merged}
    return list(dict.fromkeys(resolved.get(i, i) for i in contact_ids))


def add_contacts(caller: Caller, campaign_id: str, body: ContactsAdd) -> ContactsAdded:
    """Contacts added by hand each get the campaign's automatic template once (a campaign message)."""
    record = record_of(caller, campaign_id, Action.SEND)
    template_id = record.data.get("automatic_template_id")
    if not template_id:
        raise ValidationFailed.on("contact_ids", "The campaign has no automatic template.", "no_automatic_template")
    if record.data["status"] in (CampaignStatus.cancelled, CampaignStatus.failed):
        raise conflict(record, "take contacts")
    contact_ids = current_ids(caller, body.contact_ids)
    members = [Member(contact_id=c, fields={}) for c in contact_ids]
    hidden = recipients.hidden_from(caller, contact_ids)  # out of the caller's sight: as if unknown
    return ContactsAdded(items=stage_members(caller, campaign_id, record.data, members, template_id, hidden))
