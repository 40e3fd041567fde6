"""Marketing activities [004]: customer contacts on a person, by hand or from sent messages.

Records: kind `marketing`, `T#<t>#MARKETING#<id>` / `MARKETING`, fields as `MarketingActivity`.
Indexes: `by_type` (all of a tenant, id order, ids are ULIDs so that is time order),
`by_contact` gsi4 `T#<t>#CONTACT#<contact>#MARKETING` / `<time>#<id>` (the person card, newest
first) and `by_account` gsi3 `T#<t>#ACCOUNT#<account>#MARKETING` / `<time>#<id>`.

Statistics read the counter cells described in `domain/marketing.py`, added to in the same
transaction as an activity and taken from when one is deleted, so a date range is a few Queries.
A person's own statistics (`contact_id` given) count that person's activities in the range from
`by_contact` instead: one Query, as long as that person's history in the range.

Days are the tenant's local days (its `time_zone`). The counter cells are keyed by the local day
when the activity is counted, saved on its record as `stat_day` so that a delete or an erasure
takes from the same cell after a zone change; see domain/marketing.py for why, and for what a
zone change does to the counts already made.

`email.sent` / `sms.sent` create an activity of type email / sms on the message's contact, with
an id derived from the message id: a redelivery, or a second event about the same message, finds
the activity there and adds nothing.

Marketing activities publish no events: none is registered for them in the catalogue (yet).

Erasure (`contact.erased`): the person's marketing activities are deleted, with their cells in
the per-person counts; the per-type and per-user counts keep them, as they say only that a
user made a call on a day, not with whom (anonymous counts, as the statistics' history).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from typing import Any

from services.activities import erasure, references
from services.activities.domain.marketing import (
    COUNTER_SHARDS,
    FAMILY,
    CountKey,
    GroupBy,
    MarketingActivity,
    MarketingActivityCreate,
    MarketingSource,
    MarketingStats,
    MarketingType,
    aggregate,
    cell_of,
    check_range,
    contact_count_key,
    count_keys,
    counted_day,
    day_bounds,
    day_of,
    group_key,
    message_activity_id,
    time_bounds,
)
from services.activities.service import Caller, service_caller
from services.activities.store import Record, new_record
from services.activities.subscriptions import subscribe
from services.activities.tenant import zone as tenant_zone
from services.activities.tenant import zone_checked as tenant_zone_checked
from shared import batch_scope, clock
from shared.contracts.directory import ContactErased
from shared.contracts.messaging import MessageSent
from shared.errors import BadRequest, FieldError, Forbidden, NotFound, ValidationFailed
from shared.events import Envelope
from shared.ids import new_id
from shared.lookup import only_since
from shared.observability import logger
from shared.pagination import Page
from shared.service import commit, model_of, partition_page, sync_page
from shared.store import AlreadyApplied, CounterItem, UnitOfWork, tenant_key

KIND = "marketing"
COUNTER = "marketing_count"
STAT_DAY = "stat_day"  # the local day an activity was counted on
ERASE_BATCH = 30  # activities per erasure transaction: a delete, its tombstone and at most one counter delete each


# ----------------------------------------------------------------------------- records


def _contact_key(tenant: str, contact_id: str) -> str:
    return tenant_key(tenant, "CONTACT", contact_id, KIND.upper())


def _account_key(tenant: str, account_id: str) -> str:
    return tenant_key(tenant, "ACCOUNT", account_id, KIND.upper())


def _record(tenant: str, activity: MarketingActivity, day: str) -> Record:
    data = {**activity.model_dump(mode="json", exclude={"id", "version"}), STAT_DAY: day}
    record = new_record(tenant, KIND, activity.id, data)
    place(record, tenant, activity)
    return record


def place(record: Record, tenant: str, activity: MarketingActivity) -> None:
    """The index keys of an activity: its person's and its account's lists."""
    at = f"{clock.iso(activity.at)}#{activity.id}"
    record.gsi4pk, record.gsi4sk = _contact_key(tenant, activity.contact_id), at
    record.gsi3pk = record.gsi3sk = None
    if activity.account_id:
        record.gsi3pk, record.gsi3sk = _account_key(tenant, activity.account_id), at


def stat_day(record: Record, activity: MarketingActivity) -> str:
    """The day the activity was counted on (it stays there whatever the zone is now)."""
    return counted_day(record.data.get(STAT_DAY), activity)


def counter(tenant: str, key: CountKey) -> CounterItem:
    return CounterItem(pk=tenant_key(tenant, "MKSTAT", key.family, key.shard), sk=key.sk, kind=COUNTER)


def _count(uow: UnitOfWork, tenant: str, activity: MarketingActivity, day: str, delta: int) -> None:
    for key in count_keys(activity, day):
        uow.add(counter(tenant, key), delta)


def _stage_new(
    caller: Caller,
    uow: UnitOfWork,
    activity: MarketingActivity,
    on_exists: type[Exception],
    on_erased: Any,
    zone: tzinfo | None = None,
) -> None:
    """The activity and its counts, unless it exists already or its contact was erased meanwhile.

    `zone`: the tenant's zone as the caller knows it (else read now)."""
    erasure.refuse_if_erased(uow, caller.tenant, activity.contact_id, on_erased)
    day = day_of(activity.at, zone or tenant_zone(caller))
    uow.save(_record(caller.tenant, activity, day), condition=Record.pk.does_not_exist(), on_conflict=on_exists)
    _count(uow, caller.tenant, activity, day, 1)


def _erased_contact() -> ValidationFailed:
    return ValidationFailed.on("contact_id", "This person's data was erased (GDPR).", "contact_erased")


# ----------------------------------------------------------------------------- commands


def create(caller: Caller, body: MarketingActivityCreate) -> MarketingActivity:
    user_id = body.user_id or caller.user_id
    if user_id != caller.user_id and not caller.is_manager:
        raise ValidationFailed.on("user_id", "Only a manager or an admin may log a contact for someone else.")
    contact_id, account_id = references.resolved(caller, body.contact_id, body.account_id)
    if erasure.is_erased(caller, str(contact_id)):
        raise _erased_contact()
    now = clock.now()
    activity = MarketingActivity(
        id=new_id(),
        contact_id=contact_id,
        account_id=account_id,
        type=body.type,
        at=body.at or now,
        user_id=user_id,
        subject=body.subject,
        note=body.note,
        source=MarketingSource.manual,
        created_by=caller.user_id,
        created_at=now,
    )
    uow = UnitOfWork()
    _stage_new(caller, uow, activity, AlreadyApplied, _erased_contact)
    uow.commit()
    return activity


def _load(caller: Caller, activity_id: str) -> tuple[Record, MarketingActivity]:
    record = caller.store.get(caller.tenant, KIND, activity_id)
    if record is None:
        raise NotFound(f"No marketing activity {activity_id}.")
    return record, model_of(record, MarketingActivity)


def get(caller: Caller, activity_id: str) -> MarketingActivity:
    return _load(caller, activity_id)[1]


def delete(caller: Caller, activity_id: str) -> None:
    """Delete by hand (a contact logged by mistake): it leaves every count, too."""

    def run() -> MarketingActivity:
        record, activity = _load(caller, activity_id)
        if not (caller.is_manager or caller.user_id in (activity.user_id, activity.created_by)):
            raise Forbidden("Only the user who made the contact, its creator, a manager or an admin may delete it.")
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        _count(uow, caller.tenant, activity, stat_day(record, activity), -1)
        uow.commit()
        return activity

    commit(run)


# ----------------------------------------------------------------------------- lists


def list_activities(
    caller: Caller,
    cursor: str | None,
    limit: int,
    contact_id: str | None = None,
    account_id: str | None = None,
    *,
    type_: MarketingType | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    updated_since: datetime | None = None,
) -> Page[MarketingActivity]:
    """A person's (or an account's) marketing activities newest first, of a `type` and in a time
    range [start, end) if asked; else the tenant's, newest id first (no filter: 400 naming it)."""
    if updated_since is not None:
        others = {"contact_id": contact_id, "account_id": account_id, "type": type_, "from": start, "to": end}
        only_since(others)
        return sync_page(caller, KIND, updated_since, cursor, limit, MarketingActivity)
    if contact_id:
        index, sort_key, key = Record.by_contact, Record.gsi4sk, _contact_key(caller.tenant, contact_id)
    elif account_id:
        index, sort_key, key = Record.by_account, Record.gsi3sk, _account_key(caller.tenant, account_id)
    else:
        for name, value in (("type", type_), ("from", start), ("to", end)):
            if value is not None:
                message = f"{name} needs contact_id or account_id"
                raise BadRequest(
                    message, [FieldError(field=f"query.{name}", message=message, code="unsupported_combination")]
                )
        key = tenant_key(caller.tenant, KIND.upper())
        return partition_page(
            caller, "marketing", cursor, limit, Record.by_type, key, Record.gsi1sk, MarketingActivity, True
        )
    if start and end and end <= start:
        raise ValidationFailed.on("query.to", "must be after from", "invalid_range")
    condition = Record.fields["type"] == type_.value if type_ else None
    asked = f"{contact_id or ''}:{account_id or ''}:{type_ or ''}:{start or ''}:{end or ''}"
    return partition_page(
        caller, f"marketing:{asked}", cursor, limit, index, key, sort_key, MarketingActivity, True,
        lower=clock.iso(start) if start else None, upper=clock.iso(end) if end else None, condition=condition,
    )  # fmt: skip


# ----------------------------------------------------------------------------- statistics


def _cells(tenant: str, family: str, start: date, end: date) -> Iterator[tuple[str | None, str, int]]:
    low, high = day_bounds(start, end)
    for shard in range(COUNTER_SHARDS):
        items = CounterItem.query(
            tenant_key(tenant, "MKSTAT", family, str(shard)),
            range_key_condition=CounterItem.sk.between(low, high),
            consistent_read=True,
        )
        for item in items:
            key, kind = cell_of(family, item.sk)
            yield key, kind, int(item.value or 0)


def _contact_cells(
    tenant: str, contact_id: str, start: date, end: date, group_by: GroupBy, zone: tzinfo
) -> Iterator[tuple[str | None, str, int]]:
    low, high = time_bounds(start, end, zone)
    condition = Record.gsi4sk.between(low, high)
    for record in Record.by_contact.query(_contact_key(tenant, contact_id), range_key_condition=condition):
        activity = model_of(record, MarketingActivity)
        yield group_key(activity, group_by), activity.type.value, 1


def stats(
    caller: Caller, start: date, end: date, group_by: GroupBy, contact_id: str | None, limit: int
) -> MarketingStats:
    check_range(start, end)
    if contact_id:
        cells = _contact_cells(caller.tenant, contact_id, start, end, group_by, tenant_zone(caller))
    else:
        cells = _cells(caller.tenant, FAMILY[group_by], start, end)
    return aggregate(cells, start=start, end=end, group_by=group_by, contact_id=contact_id, limit=limit)


# ----------------------------------------------------------------------------- from sent messages


def _on_sent(source: MarketingSource, kind: MarketingType, envelope: Envelope, uow: UnitOfWork) -> None:
    sent = MessageSent.model_validate(envelope.data)
    context = {"message_id": sent.message_id, "event_type": envelope.type}
    if not sent.contact_id:
        logger.info("message sent to no contact: no marketing activity", extra=context)
        return
    # One caller per tenant and batch, without the tenant's setup (an activity from a sent message
    # needs none of its defaults: the zone falls back to its default while the tenant has none).
    caller = batch_scope.kept(
        ("activities", envelope.tenant_id), lambda: service_caller(envelope.tenant_id, open_tenant=False)
    )
    activity_id = message_activity_id(source, sent.message_id, sent.sent_at)
    # No read of the activity or of the contact's erasure marker: the transaction's conditions
    # refuse both (AlreadyApplied), so a second event about the message or an erased contact add nothing.
    by_user = envelope.actor.id if envelope.actor.type == "user" else None
    activity = MarketingActivity(
        id=activity_id,
        contact_id=sent.contact_id,
        account_id=sent.account_id,
        type=kind,
        at=sent.sent_at,
        user_id=sent.sent_by or by_user,
        subject=sent.subject[:200] if sent.subject else None,
        source=source,
        source_id=sent.message_id,
        campaign_id=sent.campaign_id,
        created_by=caller.user_id,
        created_at=clock.now(),
    )
    # The zone as this process knows it, the transaction conditioned on the setting's version: no
    # read per batch; a zone changed meanwhile refuses the transaction and is read again.
    zone = tenant_zone_checked(caller, uow)
    # A concurrent delivery of the same message, or an erasure in between: the event is done.
    _stage_new(caller, uow, activity, AlreadyApplied, AlreadyApplied, zone)


@subscribe("email.sent")
@batch_scope.together  # a put if absent, an erasure check and counter additions: see shared/consumer.py
def on_email_sent(envelope: Envelope, uow: UnitOfWork) -> None:
    _on_sent(MarketingSource.email, MarketingType.email, envelope, uow)


@subscribe("sms.sent")
@batch_scope.together
def on_sms_sent(envelope: Envelope, uow: UnitOfWork) -> None:
    _on_sent(MarketingSource.sms, MarketingType.sms, envelope, uow)


# ----------------------------------------------------------------------------- erasure


def _erase_batch(tenant: str, records: list[Record]) -> None:
    """Delete activities and their per-person cells: absolute deletes, so repeating them is harmless."""
    uow = UnitOfWork()
    cells: dict[tuple[str, str], CounterItem] = {}
    for record in records:
        uow.delete(record, check_version=False)
        activity = model_of(record, MarketingActivity)
        cell = counter(tenant, contact_count_key(activity, stat_day(record, activity)))
        cells[(cell.pk, cell.sk)] = cell
    for cell in cells.values():
        uow.delete(cell, check_version=False)
    uow.commit()


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    """The person's marketing activities go, in batches of their own transactions.

    The marker comes first, so no new activity can be recorded for the person meanwhile; the list
    is read in full before deleting (deleting takes items out of the index being read).
    """
    contact_id = ContactErased.model_validate(envelope.data).id
    caller = service_caller(envelope.tenant_id)
    erasure.mark_erased(caller, contact_id)
    records = list(Record.by_contact.query(_contact_key(caller.tenant, contact_id), page_size=100))
    for first in range(0, len(records), ERASE_BATCH):
        _erase_batch(caller.tenant, records[first : first + ERASE_BATCH])
    logger.info("contact erased from marketing", extra={"contact_id": contact_id, "activities": len(records)})
