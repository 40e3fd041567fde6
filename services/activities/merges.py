"""Merged contacts and accounts (`contact.merged`, `account.merged`) in the activities service.

The directory merges records into a survivor and publishes one event; here every reference the
service keeps to a merged id moves to the survivor, once, in the kernel's steps
(`shared/merges.py`): the markers first (from then on a late event or a request naming a merged
id is taken as naming the survivor), then each reference in a transaction of its own, read whole
and skipped when it no longer names a merged id, so that a crash or a redelivery finishes the
job and changes nothing already done. The event's dedupe marker commits last.

What moves, in this order:

1. The call list's rows (the service's copy of the directory): a merged record's row becomes a
   tombstone (`gone: merged`), and the survivor's row takes the event's `record` when its version
   is higher. On `account.merged` the contact rows of a merged account name the survivor and
   carry its fields. The tombstones come first, so that moving the events below keeps only the
   survivor's latest event (the hooks skip a tombstone and note the moved event on the survivor).
2. Events and tasks (`contact_id`, `account_id`): changed like any change (hooks run, so the call
   list's latest event follows; `activity.updated` is published).
3. Contact orders (`contact_id`, `account_id`), with their list copies, assignments and bookings
   (written with the order, as any change of it). On `account.merged` an order's facility of the
   merged customer becomes the survivor's facility of the same name.
4. Marketing activities (`contact_id`, `account_id`), with the per-person counter cells: the
   activity leaves the merged person's cell and joins the survivor's in the same transaction.
5. Facilities of a merged account (`account.merged`): the survivor gets a facility of each name
   (a facility's id is derived from its customer and name, so one name stays one facility), and
   the merged account's facility goes once no order of it names it any more.

Nothing here can leave two references where there was one thing: an activity, an order and a
marketing activity each name one contact and one account, and keep their ids; the call list
keeps one row per record. Two events or orders of the merged records stay two (they are two
pieces of work), now on the survivor.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from services.activities import activities, facilities, marketing
from services.activities.call_list import index, rows
from services.activities.domain.call_list import RowKind
from services.activities.domain.contact_orders import ContactOrder
from services.activities.domain.marketing import MarketingActivity, contact_count_key
from services.activities.domain.models import Activity
from services.activities.order_bookings import stage_booking_copies
from services.activities.order_records import KIND as ORDER
from services.activities.order_records import order_of, stage_change, touched
from services.activities.service import Caller, service_caller
from services.activities.store import Record
from services.activities.subscriptions import subscribe
from shared import clock
from shared.contracts.directory import RecordMerged
from shared.events import Envelope
from shared.merges import mark_merged, merge_of, move_each, resolve
from shared.observability import logger
from shared.service import model_of
from shared.store import AlreadyApplied, UnitOfWork, tenant_key

PAGE_SIZE = 100


@dataclass(frozen=True)
class Merge:
    """One merge as this service applies it: where the references of `merged` go."""

    caller: Caller
    entity: str  # "contact" or "account"
    merged: frozenset[str]
    survivor: str
    event: RecordMerged

    @property
    def field(self) -> str:
        return f"{self.entity}_id"

    def linked(self, kind: str) -> list[str]:
        """The ids of the records of `kind` (upper case as in the index keys) naming a merged id,
        read in full first: moving one takes it out of the index partition being read."""
        return list(self.linked_records(kind))

    def linked_records(self, kind: str) -> dict[str, Record]:
        """The records of `kind` naming a merged id as the index shows them, by id (see `linked`)."""
        index_ = Record.by_contact if self.entity == "contact" else Record.by_account
        found: dict[str, Record] = {}
        for merged_id in sorted(self.merged):
            key = tenant_key(self.caller.tenant, self.entity.upper(), merged_id, kind)
            found.update((r.record_id, r) for r in index_.query(key, page_size=PAGE_SIZE))
        return found


def _start(envelope: Envelope) -> Merge:
    """The markers first (`mark_merged`), then the merge with its survivor at the end of its chain."""
    entity, event = merge_of(envelope)
    caller = service_caller(envelope.tenant_id)
    mark_merged(caller.store, caller.tenant, entity, event)
    survivor = resolve(caller.store, caller.tenant, entity, event.id)
    return Merge(caller, entity, frozenset(event.merged_ids) - {survivor}, survivor, event)


@subscribe("contact.merged")
def on_contact_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    """Every reference to the merged contacts moves to the survivor (see the module). Works in its
    own transactions: the event's unit of work only takes the dedupe marker."""
    _apply(_start(envelope))


@subscribe("account.merged")
def on_account_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    """Every reference to the merged accounts moves to the survivor (see the module)."""
    _apply(_start(envelope))


def _apply(merge: Merge) -> None:
    moved = {
        "rows": _move_rows(merge),
        "activities": _move_activities(merge),
        "contact_orders": move_each(merge.linked(ORDER.upper()), lambda i: _move_order(merge, i)),
        "marketing": move_each(merge.linked(marketing.KIND.upper()), lambda i: _move_marketing(merge, i)),
    }
    if merge.entity == "account":
        moved["facilities"] = _move_facilities(merge)
    extra = {"entity": merge.entity, "survivor": merge.survivor, "merge_id": merge.event.merge_id, **moved}
    logger.info("merge applied to activities", extra=extra)


# ----------------------------------------------------------------------------- the call list


def _move_rows(merge: Merge) -> int:
    """Tombstones for the merged rows, the survivor's row from the event's record (if newer), and
    (accounts) the merged accounts' contact rows on the survivor."""
    tenant = merge.caller.tenant
    kind: RowKind = "contact" if merge.entity == "contact" else "account"
    if merge.survivor == merge.event.id and merge.event.record:  # else the record is of a merged one
        if kind == "contact":
            index.apply_contact(tenant, merge.survivor, merge.event.record)
        else:
            index.apply_account(tenant, merge.survivor, merge.event.record)
    for merged_id in sorted(merge.merged):
        index.bury(tenant, kind, merged_id, "merged")
    if kind == "contact":
        return len(merge.merged)
    contact_ids = [
        row.record_id
        for merged_id in sorted(merge.merged)
        for row in Record.by_account.query(rows.contacts_of_pk(tenant, merged_id), page_size=PAGE_SIZE)
    ]
    for contact_id in contact_ids:
        rows.write(tenant, "contact", contact_id, lambda data, uow: _on_survivor(merge, data, uow))
    return len(merge.merged) + len(contact_ids)


def _on_survivor(merge: Merge, data: dict[str, Any] | None, uow: UnitOfWork) -> dict[str, Any] | None:
    """A contact row of a merged account, naming the survivor and carrying its fields (None: not one)."""
    record = dict((data or {}).get("record") or {})
    if not data or data.get("gone") or record.get("account_id") not in merge.merged:
        return None
    moved = {**data, "record": {**record, "account_id": merge.survivor}}
    return index.with_account_row(merge.caller.tenant, moved, uow)


# ----------------------------------------------------------------------------- events and tasks


def _move_activities(merge: Merge) -> int:
    """Each event and task in its own transaction. The call-list rows the moves touch (a merged
    record's tombstone, the survivor's row, the other field's rows) are read once for all in bulk
    (`activities.batch`, as mass activities do), not again for every moved activity: a committed
    move leaves the rows it wrote with their new versions, one that did not commit has them read
    again (`batch_failed`)."""
    found = [model_of(r, Activity) for r in merge.linked_records(activities.KIND.upper()).values()]
    moved = [a.model_copy(update={merge.field: merge.survivor}) for a in found]
    with activities.batch(merge.caller, found + moved):
        return move_each([a.id for a in found], lambda i: _move_activity(merge, i))


def _move_activity(merge: Merge, activity_id: str) -> bool:
    caller = merge.caller
    record = caller.store.get(caller.tenant, activities.KIND, activity_id)
    if record is None:
        return False
    before = model_of(record, Activity)
    if getattr(before, merge.field) not in merge.merged:
        return False
    after = before.model_copy(
        update={merge.field: merge.survivor, "updated_at": clock.now(), "sequence": before.sequence + 1}
    )
    uow = UnitOfWork()
    activities.stage_change(caller, uow, record, before, after)
    try:
        uow.commit()
    except Exception:
        activities.batch_failed()  # the rows it staged are not stored: read them again
        raise
    return True


# ----------------------------------------------------------------------------- contact orders


def _move_order(merge: Merge, order_id: str) -> bool:
    """One order (open or closed) on the survivor, with its copies and bookings."""
    caller = merge.caller
    record = caller.store.get(caller.tenant, ORDER, order_id)
    if record is None:
        return False
    before = order_of(record)
    if getattr(before, merge.field) not in merge.merged:
        return False
    after = touched(before, **{merge.field: merge.survivor, **_facility_change(merge, before)})
    uow = UnitOfWork()
    stage_change(caller, uow, record, before, after)
    stage_booking_copies(caller, uow, after)
    uow.commit()
    return True


def _facility_change(merge: Merge, order: ContactOrder) -> dict[str, str]:
    """The survivor's facility of the same name, when the order names its merged customer's own."""
    name = order.facility_name
    if merge.entity != "account" or not name or order.facility_id != facilities.facility_id_of(order.account_id, name):
        return {}
    return {"facility_id": facilities.facility_id_of(merge.survivor, name)}


# ----------------------------------------------------------------------------- marketing activities


def _move_marketing(merge: Merge, activity_id: str) -> bool:
    """One marketing activity on the survivor; a person's counter cell follows it (same transaction)."""
    caller, tenant = merge.caller, merge.caller.tenant
    record = caller.store.get(tenant, marketing.KIND, activity_id)
    if record is None:
        return False
    before = model_of(record, MarketingActivity)
    if getattr(before, merge.field) not in merge.merged:
        return False
    after = before.model_copy(update={merge.field: merge.survivor})
    uow = UnitOfWork()
    if merge.entity == "contact":
        day = marketing.stat_day(record, before)
        uow.add(marketing.counter(tenant, contact_count_key(before, day)), -1)
        uow.add(marketing.counter(tenant, contact_count_key(after, day)), 1)
    marketing.place(record, tenant, after)
    caller.store.replace(uow, record, {**record.data, merge.field: merge.survivor})
    uow.commit()
    return True


# ----------------------------------------------------------------------------- facilities


def _move_facilities(merge: Merge) -> int:
    """The survivor gets each merged account's facility (by name); the merged ones go. Runs after
    the orders moved, so no order of the merged accounts names a facility that goes."""
    caller = merge.caller
    moved = 0
    for record in facilities.of_accounts(caller, sorted(merge.merged)):
        name = str(record.data["name"])
        _ensure(caller, facilities.facility_id_of(merge.survivor, name), record, merge.survivor)
        moved += _removed(caller, record)
    return moved


def _ensure(caller: Caller, facility_id: str, like: Record, account_id: str) -> None:
    data = {**like.data, "id": facility_id, "account_id": account_id}
    uow = UnitOfWork()
    caller.store.add(uow, caller.store.new(caller.tenant, facilities.FACILITY, facility_id, data), _already)
    with suppress(AlreadyApplied):  # the survivor has one of this name
        uow.commit()


def _already() -> Exception:
    return AlreadyApplied()


def _removed(caller: Caller, record: Record) -> int:
    uow = UnitOfWork()
    uow.delete(record, check_version=False)
    uow.commit()
    return 1
