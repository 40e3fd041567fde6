"""Campaigns [issue 5 item 3]: one template mailed to the members of a target group; the
campaign record and its commands while a draft (create, read, list, change, delete).

Records (kinds of the email table):
- `campaign`, id a ULID (or the id an automation gives): data {name, template_id, list_type_id,
  target_group_id, tracking, attachments, automatic_template_id, once_scope, status, error,
  send_at, started_at, audience {pages, last_page, total, complete}, origin, created_*}.

The other parts of a campaign: sending it now or at a time, pausing, resuming and cancelling it
(campaign_launch.py); its recipients, from its audience's pages or added by hand
(campaign_recipients.py); its attachments (campaign_files.py); its counters (stats.py).
A person's command commits the campaign with its `email_campaign.*` event (the audit trail's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from services.email import list_types, stats, templates
from services.email.domain.campaigns import (
    EDITABLE,
    Campaign,
    CampaignCreate,
    CampaignStatus,
    CampaignUpdate,
    shown_status,
)
from services.email.domain.templates import Template
from services.email.events import CampaignChanged
from services.email.service import Caller
from services.email.store import TERMS, Record
from shared import clock
from shared.errors import Conflict, DomainError, NotFound, ValidationFailed
from shared.events import changes_of
from shared.ids import derived_id, new_id
from shared.lookup import Order, find, plan
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, model_of, patch_changes
from shared.store import AlreadyApplied, UnitOfWork, run_with_retries

KIND = "campaign"
# What its events' `changes` show: the fields a person sets, and the status and time its commands move.
CHANGEABLE = (
    "name",
    "template_id",
    "list_type_id",
    "target_group_id",
    "tracking",
    "automatic_template_id",
    "attachments",
    "status",
    "send_at",
)


# ----------------------------------------------------------------------------- records


def record_of(caller: Caller, campaign_id: str, action: Action | None = None) -> Record:
    """The campaign (every user of the tenant sees it); with `action`, 403 unless the caller may do it."""
    record: Record = caller.shared_record(KIND, campaign_id, "campaign", "campaigns", action)
    return record


def view(caller: Caller, record: Record) -> Campaign:
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


def changed(record: Record) -> CampaignChanged:
    """The payload of the campaign's events: what names it and where it stands."""
    data = record.data
    return CampaignChanged(
        id=record.record_id,
        name=data["name"],
        status=data["status"],
        template_id=data["template_id"],
        list_type_id=data["list_type_id"],
        target_group_id=data.get("target_group_id"),
        send_at=data.get("send_at"),
    )


def stage_change(caller: Caller, uow: UnitOfWork, record: Record, data: dict[str, Any], event_type: str) -> None:
    """Replace the campaign's data and publish `event_type` with the fields changed, in `uow`."""
    before = dict(record.data)
    caller.store.replace(uow, record, data)
    uow.publish(caller.event(event_type, changed(record), changes=changes_of(before, record.data, CHANGEABLE)))


def conflict(record: Record, doing: str) -> Conflict:
    return Conflict(f"Campaign {record.record_id} is {record.data['status']}: it cannot {doing}.")


def change(
    caller: Caller,
    campaign_id: str,
    allowed: Iterable[str],
    doing: str,
    changes: dict[str, Any],
    event_type: str,
    also: Callable[[Record, UnitOfWork], None] | None = None,
) -> Record:
    """Move the campaign to new data if its stored status allows it, with its `event_type`; 409
    otherwise; retried. `also`: more writes of the same transaction, from the record as read (the
    template copies)."""

    def attempt() -> Record:
        record = record_of(caller, campaign_id, Action.SEND)
        if record.data["status"] not in allowed:
            raise conflict(record, doing)
        uow = UnitOfWork()
        if also is not None:
            also(record, uow)
        data = {**record.data, **changes, "updated_at": clock.iso(clock.now())}
        stage_change(caller, uow, record, data, event_type)
        uow.commit()
        return record

    result: Record = run_with_retries(attempt)
    return result


# ----------------------------------------------------------------------------- the templates it sends

COPY = "template_copy"  # a campaign's copy of one of its templates, taken when it leaves draft


def copy_id(campaign_id: str, template_id: str) -> str:
    return derived_id(campaign_id, "template", template_id)


def stage_copies(
    caller: Caller, uow: UnitOfWork, campaign_id: str, data: dict[str, Any], again: bool = True, strict: bool = True
) -> None:
    """Copy the campaign's templates (`template_id`, `automatic_template_id`) as they are now, in
    the write that schedules or sends it: it sends those copies, though a template be changed or
    deleted after (docs/decisions.md). A record each (a template fills most of an item). `again`:
    a copy taken before is taken again (scheduled again), else kept. A template gone keeps its
    copy; gone with none is a 422 naming the field (`strict`), else left to fail when staged."""
    for field in ("template_id", "automatic_template_id"):
        template_id = data.get(field)
        if not template_id or (field == "automatic_template_id" and template_id == data.get("template_id")):
            continue
        copy = caller.store.get(caller.tenant, COPY, copy_id(campaign_id, template_id))
        if copy is not None and not again:
            continue
        template = caller.store.get(caller.tenant, templates.TEMPLATE, template_id)
        if template is None:
            if copy is None and strict:
                raise ValidationFailed.on(field, f"No template {template_id}.", "not_found")
            continue
        copied = {**template.data, "version": template.version}
        if copy is None:
            caller.store.add(uow, caller.store.new(caller.tenant, COPY, copy_id(campaign_id, template_id), copied))
        else:
            caller.store.replace(uow, copy, copied)


def template_of(caller: Caller, campaign_id: str, template_id: str) -> Template:
    """The template a campaign sends: its copy; the live one for a campaign launched before copies."""
    copy = caller.store.get(caller.tenant, COPY, copy_id(campaign_id, template_id))
    if copy is None:
        return templates.get_template(caller, template_id)
    return Template.model_validate({**copy.data, "id": template_id})


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
            return view(caller, existing)
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
    caller.store.add(uow, record, on_conflict=AlreadyApplied)
    uow.publish(caller.event("email_campaign.created", changed(record)))
    try:
        uow.commit()
    except AlreadyApplied:  # a concurrent create of the same id
        return view(caller, record_of(caller, campaign_id))
    return view(caller, record)


def get_campaign(caller: Caller, campaign_id: str) -> Campaign:
    return view(caller, record_of(caller, campaign_id))


# The stored statuses a shown status is read from: "sent" is a sending campaign whose every
# recipient is staged and none queued (`shown_status`), so both read the "sending" entries and
# keep those shown so.
STORED_AS = {CampaignStatus.sent.value: [CampaignStatus.sending.value]}
RANGES = {"send_time": ("send_from", "send_to")}


def list_campaigns(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, Any],
    sort: str | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[Campaign]:
    """The campaigns, filtered by at most one of `name` (prefix, in name order), `status`,
    `template_id`, `list_type_id`, `target_group_id`, `created_by` and the send time's range
    `send_from`/`send_to` (in send time order: the time scheduled, else the time sending started;
    campaigns with a send time only); with `updated_since`, the kernel's sync page (no filter,
    sort or order)."""
    query = plan(filters, sort, order, prefixes={"name": "name"}, ranges=RANGES, updated_since=updated_since)
    listed = find(caller, KIND, TERMS[KIND], Campaign, cursor, limit, query, stored_as=STORED_AS)
    for item in listed.items:
        counts = stats.read_counts(caller.tenant, item.id)
        item.stats = counts
        item.status = shown_status(item.status, item.audience.model_dump(), counts)
    status = filters.get("status")
    if status is not None:  # "sending" that shows as "sent", and the other way round: on the next page
        listed.items = [item for item in listed.items if item.status == status]
    return listed


def update_campaign(caller: Caller, campaign_id: str, body: CampaignUpdate) -> Campaign:
    changes = body.model_dump(mode="json", exclude_unset=True)
    _check_refs(caller, changes)

    def attempt() -> Campaign:
        record = record_of(caller, campaign_id, Action.CHANGE)
        if not patch_changes(record.data, changes):
            return view(caller, record)  # nothing changes: nothing written, whatever its status
        if record.data["status"] not in EDITABLE:
            raise conflict(record, "be changed")
        uow = UnitOfWork()
        data = {**record.data, **changes, "updated_at": clock.iso(clock.now())}
        stage_change(caller, uow, record, data, "email_campaign.updated")
        uow.commit()
        return view(caller, record)

    return commit(attempt)


def delete_campaign(caller: Caller, campaign_id: str) -> None:
    def attempt() -> None:
        record = record_of(caller, campaign_id, Action.DELETE)
        if record.data["status"] not in EDITABLE:
            raise conflict(record, "be deleted")
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        uow.publish(caller.event("email_campaign.deleted", changed(record)))
        uow.commit()

    run_with_retries(attempt)
