"""Contact orders [003]: commands and queries.

Records (all in the activities table):

- `contact_order` (versioned): the order; `by_type`; `by_account` / `by_contact`
  (`<created>#<id>`); `by_rank` `T#<t>#CONTACT_ORDERS` / `<0|1>#<planned day>#<id>` and
  `by_rank_alt` `T#<t>#CONTACT_ORDERS` / `<0|1>#<number, 12 digits>#<id>`: 0 = open, 1 = closed, so
  closed orders always come last, whichever order the tenant lists by.
- notes: items in the order's partition, sk `NOTE#<ulid>` (append-only, read consistently).
- `co_member` (derived, unversioned): one per (order, owner or assignee), a copy of the order under
  `T#<t>#CONTACT_ORDERS#USER#<user>` in both rank indexes: the list of a "view only assigned" user,
  and the assignee filter, are one Query.
- `assignment` (derived, unversioned): one per (order, assignee); `by_todo` `T#<t>#TODO#<user>` /
  `<planned day>#<order id>` while the order is open.
- `booking` (versioned): `by_type` `T#<t>#BOOKING` / `<order id>#<id>`; `by_calendar` always (a
  cancelled one stays, so the feed cancels it); `by_todo` while open; `by_due` while open and ahead.
- `facility`: a tenant list, id derived from (customer, name) so a name is created once.
- favourites: items under `T#<t>#CO_FAVOURITES#<user>`, sk `FAV#<id>`: a user reads only their own.

Every change of an order, its notes, bookings or files writes the order (its version guards
against a concurrent change), its derived records and its event in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute

from services.activities import events as ev
from services.activities import files
from services.activities.activities import stamp
from services.activities.calendar import booking_entry, stage_cancellation
from services.activities.domain.contact_orders import (
    MAX_BOOKINGS,
    MAX_FAVOURITES,
    MAX_FILES,
    MAX_HOURS,
    MAX_TIME_ENTRIES,
    AssigneesReplace,
    Booking,
    BookingCreate,
    BookingStatus,
    BookingUpdate,
    ContactOrder,
    ContactOrderCreate,
    ContactOrderSettings,
    ContactOrderUpdate,
    ConversionResult,
    Facility,
    FacilityCreate,
    Favourite,
    FavouriteCreate,
    Filters,
    Location,
    Note,
    NoteCreate,
    Permission,
    SettingsUpdate,
    SortBy,
    TimeEntry,
    TimeEntryCreate,
    booking_reminder,
    can_see,
    check_assignees,
    check_booking_times,
    check_status,
    customer_errors,
    day_start,
    facility_errors,
    format_number,
    rank_by_number,
    rank_by_planned,
    require,
    require_any_view,
)
from services.activities.domain.models import (
    Attachment,
    AttachmentCreate,
    AttachmentDownload,
    AttachmentUpload,
)
from services.activities.service import Caller, commit, register_default, service_caller
from services.activities.store import Record, clean, new_record, record_key
from services.activities.subscriptions import subscribe
from shared import clock
from shared.contracts.contact_orders import NewCustomer, NewCustomerContact, new_customer_ids
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.events import Envelope
from shared.ids import derived_id, new_id
from shared.observability import logger
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.store import TableItem, UnitOfWork, run_with_retries, tenant_key

KIND = "contact_order"
MEMBER = "co_member"
ASSIGNMENT = "assignment"
BOOKING = "booking"
FACILITY = "facility"
NOTE_PREFIX = "NOTE#"
FAVOURITE_PREFIX = "FAV#"
SETTINGS = "contact_orders"
COUNTER = "contact_orders"
READ_BUDGET = 500  # index items a list page may read at most (filters drop some): a page's cost is bounded
FILTERED_PAGE = 100
NOTES_IN_EVENT = 64 * 1024

register_default(SETTINGS, lambda: ContactOrderSettings().model_dump(mode="json"))


class IndexEntry(TableItem):
    """A derived record (member copy, assignment): rewritten whole with its order, so unversioned."""

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi5pk = UnicodeAttribute(null=True)
    gsi5sk = UnicodeAttribute(null=True)
    gsi6pk = UnicodeAttribute(null=True)
    gsi6sk = UnicodeAttribute(null=True)
    gsi7pk = UnicodeAttribute(null=True)
    gsi7sk = UnicodeAttribute(null=True)
    fields: MapAttribute[str, Any] = MapAttribute(default=dict, attr_name="data")


# ----------------------------------------------------------------------------- settings and access


def settings(caller: Caller) -> ContactOrderSettings:
    return ContactOrderSettings.model_validate(caller.setting(SETTINGS))


def permissions(caller: Caller) -> set[Permission]:
    return settings(caller).of(caller.role)


def update_settings(caller: Caller, body: SettingsUpdate) -> ContactOrderSettings:
    caller.require_admin()
    current = settings(caller).model_dump(mode="json")
    changes = body.model_dump(mode="json", exclude_unset=True)
    if "permissions" in changes:  # the roles sent are replaced, the others kept
        changes["permissions"] = {**current["permissions"], **changes["permissions"]}
    merged = ContactOrderSettings.model_validate({**current, **changes})
    caller.save_setting(SETTINGS, merged.model_dump(mode="json"))
    return merged


def order_of(record: Record) -> ContactOrder:
    """The order an order record or a member copy holds."""
    data = record.data
    version = record.version if record.kind == KIND else data.get("order_version")
    return ContactOrder.model_validate({**data, "version": version or 1})


def _load(caller: Caller, order_id: str) -> tuple[Record, ContactOrder]:
    """An order the caller may see; 403 without any view permission, 404 if absent or not theirs."""
    perms = permissions(caller)
    require_any_view(perms)
    record = caller.store.get(caller.tenant, KIND, order_id)
    if record is None:
        raise NotFound(f"No contact order {order_id}.")
    order = order_of(record)
    if not can_see(perms, caller.user_id, order):
        raise NotFound(f"No contact order {order_id}.")
    return record, order


def _open(caller: Caller, order_id: str, needed: Permission | None = Permission.edit) -> tuple[Record, ContactOrder]:
    """A visible, open order the caller holds `needed` on; a closed (archived) one is 409."""
    record, order = _load(caller, order_id)
    if needed is not None:
        require(permissions(caller), needed, "change this contact order")
    if order.closed:
        raise Conflict("The contact order is closed (archived); it can no longer change.")
    return record, order


def get_order(caller: Caller, order_id: str) -> ContactOrder:
    return _load(caller, order_id)[1]


# ----------------------------------------------------------------------------- index keys


def list_key(tenant: str, user_id: str | None = None) -> str:
    return tenant_key(tenant, "CONTACT_ORDERS", "USER", user_id) if user_id else tenant_key(tenant, "CONTACT_ORDERS")


def _planned_stamp(order: ContactOrder) -> str:
    return stamp(day_start(order.planned_date))


def _order_data(order: ContactOrder) -> dict[str, Any]:
    return order.model_dump(mode="json", exclude={"version"})


def _place_order(record: Record, tenant: str, order: ContactOrder) -> None:
    created = f"{stamp(order.created_at)}#{order.id}"
    record.gsi3pk = tenant_key(tenant, "ACCOUNT", order.account_id, "CONTACT_ORDER")
    record.gsi3sk = created
    record.gsi4pk = tenant_key(tenant, "CONTACT", order.contact_id, "CONTACT_ORDER") if order.contact_id else None
    record.gsi4sk = created if order.contact_id else None
    record.gsi6pk = record.gsi7pk = list_key(tenant)
    record.gsi6sk = rank_by_planned(order, _planned_stamp(order))
    record.gsi7sk = rank_by_number(order)


def _member_entry(tenant: str, order: ContactOrder, user_id: str) -> IndexEntry:
    return IndexEntry(
        pk=record_key(tenant, MEMBER, derived_id(order.id, user_id)),
        sk=MEMBER.upper(),
        kind=MEMBER,
        gsi1pk=tenant_key(tenant, MEMBER.upper()),
        gsi1sk=f"{order.id}#{user_id}",
        gsi6pk=list_key(tenant, user_id),
        gsi6sk=rank_by_planned(order, _planned_stamp(order)),
        gsi7pk=list_key(tenant, user_id),
        gsi7sk=rank_by_number(order),
        fields=clean({**_order_data(order), "order_version": order.version, "member_id": user_id}),
    )


def _assignment_entry(tenant: str, order: ContactOrder, user_id: str) -> IndexEntry:
    """The order in an assignee's to-do list (while it is open)."""
    data = {
        "order_id": order.id,
        "order_number": order.number,
        "subject": order.subject,
        "user_id": user_id,
        "planned_date": order.planned_date.isoformat() if order.planned_date else None,
        "status": order.status,
        "closed": order.closed,
        "account_id": order.account_id,
    }
    entry = IndexEntry(
        pk=record_key(tenant, ASSIGNMENT, derived_id(order.id, user_id)),
        sk=ASSIGNMENT.upper(),
        kind=ASSIGNMENT,
        gsi1pk=tenant_key(tenant, ASSIGNMENT.upper()),
        gsi1sk=f"{order.id}#{user_id}",
        fields=clean(data),
    )
    if not order.closed:
        entry.gsi5pk = tenant_key(tenant, "TODO", user_id)
        entry.gsi5sk = f"{_planned_stamp(order)}#{order.id}"
    return entry


def _gone(tenant: str, kind: str, order_id: str, user_id: str) -> IndexEntry:
    return IndexEntry(pk=record_key(tenant, kind, derived_id(order_id, user_id)), sk=kind.upper(), kind=kind)


def _stage_derived(caller: Caller, uow: UnitOfWork, before: ContactOrder | None, after: ContactOrder | None) -> None:
    """Rewrite the member copies and assignments of an order; drop those of users no longer on it."""
    tenant = caller.tenant
    old_members, new_members = (before.members if before else set()), (after.members if after else set())
    old_assignees = set(before.assignee_ids) if before else set()
    new_assignees = set(after.assignee_ids) if after else set()
    if after is not None:
        for user_id in sorted(new_members):
            uow.save(_member_entry(tenant, after, user_id))
        for user_id in sorted(new_assignees):
            uow.save(_assignment_entry(tenant, after, user_id))
    order_id = (after or before).id  # type: ignore[union-attr]
    for user_id in sorted(old_members - new_members):
        uow.delete(_gone(tenant, MEMBER, order_id, user_id), check_version=False)
    for user_id in sorted(old_assignees - new_assignees):
        uow.delete(_gone(tenant, ASSIGNMENT, order_id, user_id), check_version=False)


def _stage_change(
    caller: Caller,
    uow: UnitOfWork,
    record: Record,
    before: ContactOrder,
    after: ContactOrder,
    event_type: str | None = "contact_order.updated",
) -> None:
    """The order's new state, its derived records and (by default) its `updated` event."""
    after.version = before.version + 1  # what the conditional save makes it
    _place_order(record, caller.tenant, after)
    caller.store.replace(uow, record, _order_data(after))
    _stage_derived(caller, uow, before, after)
    if event_type:
        payload = ev.ContactOrderChanged(id=after.id, order=after.model_dump(mode="json"))
        uow.publish(caller.event(event_type, payload))
    _publish_assigned(caller, uow, set(before.assignee_ids), after)


def _publish_assigned(caller: Caller, uow: UnitOfWork, before: set[str], after: ContactOrder) -> None:
    """Notify colleagues newly assigned (not the caller who assigned themselves)."""
    added = [u for u in after.assignee_ids if u not in before and u != caller.user_id]
    if added:
        payload = ev.ContactOrderAssigned(
            id=after.id, number=after.number, subject=after.subject, assignee_ids=added, assigned_by=caller.user_id
        )
        uow.publish(caller.event("contact_order.assigned", payload))


def _touched(before: ContactOrder, **changes: Any) -> ContactOrder:
    return before.model_copy(update={**changes, "updated_at": clock.now()}, deep=True)


# ----------------------------------------------------------------------------- facilities


def _facility_id(account_id: str | None, name: str) -> str:
    return derived_id("facility", account_id or "", " ".join(name.casefold().split()))


def _resolve_facility(
    caller: Caller, uow: UnitOfWork, facility_id: str | None, name: str | None, account_id: str
) -> tuple[str | None, str | None]:
    """(id, name) of the order's facility: an existing one by id, or one by name, created if new."""
    if facility_id:
        record = caller.store.get(caller.tenant, FACILITY, facility_id)
        if record is None:
            raise ValidationFailed.on("facility_id", f"No facility {facility_id}.", "not_found")
        return facility_id, record.data["name"]
    if not name:
        return None, None
    found_id = _facility_id(account_id, name)
    if caller.store.get(caller.tenant, FACILITY, found_id) is None:
        facility = Facility(
            id=found_id, name=name, account_id=account_id, created_by=caller.user_id, created_at=clock.now()
        )
        caller.store.add(uow, new_record(caller.tenant, FACILITY, found_id, facility.model_dump(mode="json")))
    return found_id, name


def create_facility(caller: Caller, body: FacilityCreate) -> Facility:
    perms = permissions(caller)
    if not perms & {Permission.create, Permission.edit}:
        require(perms, Permission.create, "add a facility")
    facility_id = _facility_id(body.account_id, body.name)
    if caller.store.get(caller.tenant, FACILITY, facility_id) is not None:
        raise Conflict(f"The facility {body.name} exists already (id {facility_id}).")
    facility = Facility(
        id=facility_id, name=body.name, account_id=body.account_id, created_by=caller.user_id, created_at=clock.now()
    )
    uow = UnitOfWork()
    caller.store.add(uow, new_record(caller.tenant, FACILITY, facility_id, facility.model_dump(mode="json")))
    uow.commit()
    return facility


def list_facilities(caller: Caller, cursor: str | None, limit: int, account_id: str | None) -> Page[Facility]:
    require_any_view(permissions(caller))
    condition = (Record.fields["account_id"] == account_id) if account_id else None
    scope = f"facilities:{account_id or ''}"
    return _budget_page(
        caller, scope, cursor, limit, Record.by_type, tenant_key(caller.tenant, FACILITY.upper()), "gsi1sk", "", "~",
        condition, lambda r: Facility.model_validate(r.data),
    )  # fmt: skip


# ----------------------------------------------------------------------------- create, change, delete


def create_order(caller: Caller, body: ContactOrderCreate) -> ContactOrder:
    perms = permissions(caller)
    require(perms, Permission.create, "create a contact order")
    errors = customer_errors(body) + facility_errors(body.model_dump())
    if errors:
        raise ValidationFailed("The contact order's customer or facility is not valid.", errors)
    config = settings(caller)
    status = body.status or config.default_status()
    check_status(config, status)
    check_assignees(perms, caller.user_id, [], body.assignee_ids)

    def run() -> ContactOrder:
        uow = UnitOfWork()
        order_id = new_id()
        sequence = uow.take_number(caller.tenant, COUNTER)
        account_id, contact_id = body.account_id, body.contact_id
        new_customer = None
        if body.new_customer:
            new_customer = _new_customer(caller, order_id, body)
            account_id = new_customer.account_id
            contact_id = new_customer.contact.contact_id if new_customer.contact else contact_id
        assert account_id is not None
        facility_id, facility_name = _resolve_facility(caller, uow, body.facility_id, body.facility_name, account_id)
        now = clock.now()
        order = ContactOrder(
            id=order_id,
            number=format_number(config.number_prefix, sequence),
            sequence_number=sequence,
            subject=body.subject,
            account_id=account_id,
            customer_name=body.new_customer.name if body.new_customer else None,
            customer_created=body.new_customer is not None,
            facility_id=facility_id,
            facility_name=facility_name,
            service_object=body.service_object,
            contact_id=contact_id,
            status=status,
            location=Location.model_validate(body.location.model_dump()) if body.location else None,
            hours_spent=body.hours_spent,
            planned_date=body.planned_date,
            owner_id=caller.user_id,
            assignee_ids=body.assignee_ids,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        record = new_record(caller.tenant, KIND, order_id, _order_data(order))
        _place_order(record, caller.tenant, order)
        caller.store.add(uow, record)
        _stage_derived(caller, uow, None, order)
        payload = ev.ContactOrderCreated(id=order.id, order=order.model_dump(mode="json"), new_customer=new_customer)
        uow.publish(caller.event("contact_order.created", payload))
        _publish_assigned(caller, uow, set(), order)
        uow.commit()
        return order

    return commit(run)


def _new_customer(caller: Caller, order_id: str, body: ContactOrderCreate) -> NewCustomer:
    """The customer the directory adds for this order, with ids derived from the order's."""
    given = body.new_customer
    assert given is not None
    account_id, contact_id = new_customer_ids(order_id)
    contact = None
    if given.contact:
        contact = NewCustomerContact(contact_id=contact_id, **given.contact.model_dump())
    return NewCustomer(
        account_id=account_id,
        owner_id=caller.user_id,
        contact=contact,
        **given.model_dump(exclude={"contact"}),
    )


def update_order(caller: Caller, order_id: str, body: ContactOrderUpdate) -> ContactOrder:
    changes = body.changes()
    errors = facility_errors(changes)
    if errors:
        raise ValidationFailed("The facility is not valid.", errors)

    def run() -> ContactOrder:
        perms = permissions(caller)
        needs_edit = bool(set(changes) - {"assignee_ids"})
        record, before = _open(caller, order_id, Permission.edit if needs_edit else None)
        if "assignee_ids" in changes:
            check_assignees(perms, caller.user_id, before.assignee_ids, changes["assignee_ids"])
        if "status" in changes and changes["status"] != before.status:
            check_status(settings(caller), changes["status"])
        data = {**before.model_dump(), **changes}
        uow = UnitOfWork()
        if {"facility_id", "facility_name"} & set(changes):
            data["facility_id"], data["facility_name"] = _resolve_facility(
                caller, uow, changes.get("facility_id"), changes.get("facility_name"), data["account_id"]
            )
        data["updated_at"] = clock.now()
        after = ContactOrder.model_validate(data)
        _stage_change(caller, uow, record, before, after)
        if {"subject", "account_id", "contact_id"} & set(changes):
            _stage_booking_copies(caller, uow, after)
        uow.commit()
        return after

    return commit(run)


def replace_assignees(caller: Caller, order_id: str, body: AssigneesReplace) -> ContactOrder:
    return update_order(caller, order_id, ContactOrderUpdate(assignee_ids=body.assignee_ids))


def delete_order(caller: Caller, order_id: str) -> None:
    def run() -> ContactOrder:
        record, before = _load(caller, order_id)
        require(permissions(caller), Permission.delete, "delete a contact order")
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        _stage_derived(caller, uow, before, None)
        for booking_record, booking in _bookings(caller, order_id):
            if booking.status != BookingStatus.cancelled:
                _stage_booking(caller, uow, booking_record, booking, status=BookingStatus.cancelled)
        payload = ev.ContactOrderChanged(id=before.id, order=before.model_dump(mode="json"))
        uow.publish(caller.event("contact_order.deleted", payload))
        uow.commit()
        return before

    deleted = commit(run)
    _delete_notes(caller, order_id)
    for attachment in deleted.attachments:
        files.delete(files.file_key(caller.tenant, KIND, order_id, attachment.id))


def close_order(caller: Caller, order_id: str) -> ContactOrder:
    """Close = archive: it stays listed (after the open ones); its open bookings are cancelled."""

    def run() -> ContactOrder:
        record, before = _load(caller, order_id)
        require(permissions(caller), Permission.edit, "close a contact order")
        if before.closed:
            return before  # closing twice changes nothing
        after = _touched(before, closed=True, closed_at=clock.now(), closed_by=caller.user_id)
        uow = UnitOfWork()
        _stage_change(caller, uow, record, before, after, "contact_order.closed")
        for booking_record, booking in _bookings(caller, order_id):
            if booking.status == BookingStatus.open:
                _stage_booking(caller, uow, booking_record, booking, status=BookingStatus.cancelled)
        uow.commit()
        return after

    return commit(run)


def convert_order(caller: Caller, order_id: str) -> ConversionResult:
    """Ask invoicing for a sales order from this contact order; an order converts once."""

    def run() -> ConversionResult:
        record, before = _open(caller, order_id)
        if before.converted_at is not None:
            raise Conflict(f"The contact order was converted already (sales order {before.sales_order_id}).")
        sales_order_id = derived_id(order_id, "sales_order")
        after = _touched(before, converted_at=clock.now(), converted_by=caller.user_id, sales_order_id=sales_order_id)
        uow = UnitOfWork()
        _stage_change(caller, uow, record, before, after)
        notes, truncated = _notes_for_event(caller, order_id)
        payload = ev.ContactOrderConverted(
            id=after.id,
            number=after.number,
            subject=after.subject,
            sales_order_id=sales_order_id,
            account_id=after.account_id,
            contact_id=after.contact_id,
            owner_id=after.owner_id,
            facility=after.facility_name,
            service_object=after.service_object,
            location=after.location.address if after.location else None,
            planned_date=after.planned_date,
            hours_spent=float(after.hours_spent),
            notes=notes,
            notes_truncated=truncated,
            converted_by=caller.user_id,
        )
        uow.publish(caller.event("contact_order.converted", payload))
        uow.commit()
        return ConversionResult(order=after, sales_order_id=sales_order_id)

    return commit(run)


# ----------------------------------------------------------------------------- notes and time


def _note_item(tenant: str, note: Note) -> Record:
    return Record(
        pk=record_key(tenant, KIND, note.order_id),
        sk=f"{NOTE_PREFIX}{note.id}",
        kind="co_note",
        fields=clean(note.model_dump(mode="json")),
    )


def add_note(caller: Caller, order_id: str, body: NoteCreate) -> Note:
    """Append a note stamped with its time and author; notes are never changed or removed."""

    def run() -> Note:
        record, before = _open(caller, order_id)
        now = clock.now()
        note = Note(id=new_id(), order_id=order_id, text=body.text, author_id=caller.user_id, created_at=now)
        after = _touched(before, notes_count=before.notes_count + 1, last_note_at=now)
        uow = UnitOfWork()
        _stage_change(caller, uow, record, before, after)
        uow.save(_note_item(caller.tenant, note), condition=Record.pk.does_not_exist())
        uow.commit()
        return note

    return commit(run)


def _note_records(caller: Caller, order_id: str, after: str | None, limit: int | None) -> Iterator[Record]:
    lower = f"{NOTE_PREFIX}{after} " if after else NOTE_PREFIX
    return Record.query(
        record_key(caller.tenant, KIND, order_id),
        Record.sk.between(lower, f"{NOTE_PREFIX}~"),
        consistent_read=True,
        limit=limit,
    )


def list_notes(caller: Caller, order_id: str, cursor: str | None, limit: int) -> Page[Note]:
    """The notes log, oldest first."""
    _load(caller, order_id)
    scope = f"{caller.tenant}:contact_order_notes:{order_id}"
    after = decode_cursor(cursor, scope, caller.signing_key)["after"] if cursor else None
    records = list(_note_records(caller, order_id, after, limit + 1))
    notes = [Note.model_validate(r.data) for r in records[:limit]]
    next_cursor = encode_cursor({"after": notes[-1].id}, scope, caller.signing_key) if len(records) > limit else None
    return Page[Note](items=notes, next_cursor=next_cursor)


def _notes_for_event(caller: Caller, order_id: str) -> tuple[list[str], bool]:
    """The newest notes that fit in NOTES_IN_EVENT, oldest first."""
    texts = [str(r.data.get("text", "")) for r in _note_records(caller, order_id, None, None)]
    kept: list[str] = []
    size = 0
    for text in reversed(texts):
        size += len(text.encode())
        if size > NOTES_IN_EVENT:
            break
        kept.append(text)
    return list(reversed(kept)), len(kept) < len(texts)


def _delete_notes(caller: Caller, order_id: str) -> None:
    """Notes of a deleted order (unreachable once the order is gone)."""
    with Record.batch_write() as batch:
        for record in _note_records(caller, order_id, None, None):
            batch.delete(record)


def add_time(caller: Caller, order_id: str, body: TimeEntryCreate) -> ContactOrder:
    """Log hours: the entry is kept and its hours add to the order's total."""

    def run() -> ContactOrder:
        record, before = _open(caller, order_id)
        if len(before.time_entries) >= MAX_TIME_ENTRIES:
            raise Conflict(f"A contact order holds at most {MAX_TIME_ENTRIES} time entries.")
        now = clock.now()
        entry = TimeEntry(
            id=new_id(),
            hours=body.hours,
            date=body.date or now.date(),
            note=body.note,
            user_id=caller.user_id,
            created_at=now,
        )
        total = Decimal(before.hours_spent) + body.hours
        if total > MAX_HOURS:
            raise ValidationFailed.on("hours", f"The order's total would exceed {MAX_HOURS} hours.", "too_large")
        after = _touched(before, time_entries=[*before.time_entries, entry], hours_spent=total)
        uow = UnitOfWork()
        _stage_change(caller, uow, record, before, after)
        uow.commit()
        return after

    return commit(run)


# ----------------------------------------------------------------------------- bookings


def _booking_record(tenant: str, booking: Booking) -> Record:
    record = new_record(tenant, BOOKING, booking.id, _booking_data(booking))
    record.gsi1sk = f"{booking.order_id}#{booking.id}"
    return record


def _booking_data(booking: Booking) -> dict[str, Any]:
    return booking.model_dump(mode="json", exclude={"version"})


def _place_booking(record: Record, tenant: str, booking: Booking) -> None:
    """Calendar always (a cancelled booking stays, for the feed), to-do while open, reminder while ahead."""
    at = f"{stamp(booking.start)}#{booking.id}"
    record.gsi2pk, record.gsi2sk = tenant_key(tenant, "CAL", booking.user_id), at
    is_open = booking.status == BookingStatus.open
    record.gsi5pk = tenant_key(tenant, "TODO", booking.user_id) if is_open else None
    record.gsi5sk = at if is_open else None
    reminder = booking_reminder(booking, clock.now())
    record.set_due(tenant, clock.iso(reminder) if reminder else None)


def _bookings(caller: Caller, order_id: str) -> list[tuple[Record, Booking]]:
    records = Record.by_type.query(
        tenant_key(caller.tenant, BOOKING.upper()), Record.gsi1sk.startswith(f"{order_id}#"), limit=MAX_BOOKINGS + 1
    )
    return [(r, Booking.model_validate({**r.data, "version": r.version})) for r in records]


def _stage_booking(caller: Caller, uow: UnitOfWork, record: Record, before: Booking, **changes: Any) -> Booking:
    after = before.model_copy(update={**changes, "sequence": before.sequence + 1, "updated_at": clock.now()})
    after.version = before.version + 1
    _place_booking(record, caller.tenant, after)
    caller.store.replace(uow, record, _booking_data(after))
    return after


def _stage_booking_copies(caller: Caller, uow: UnitOfWork, order: ContactOrder) -> None:
    """Bookings show their order's subject, customer and contact: keep them in step."""
    for record, booking in _bookings(caller, order.id):
        _stage_booking(
            caller,
            uow,
            record,
            booking,
            subject=order.subject,
            account_id=order.account_id,
            contact_id=order.contact_id,
        )


def _check_booking_user(caller: Caller, user_id: str) -> None:
    """Booking for a colleague is assigning them work: it needs `assign`."""
    if user_id != caller.user_id:
        require(permissions(caller), Permission.assign, "book a colleague")


def add_booking(caller: Caller, order_id: str, body: BookingCreate) -> Booking:
    check_booking_times(body.start, body.end)
    user_id = body.user_id or caller.user_id

    def run() -> Booking:
        record, order = _open(caller, order_id)
        _check_booking_user(caller, user_id)
        if len(_bookings(caller, order_id)) >= MAX_BOOKINGS:
            raise Conflict(f"A contact order holds at most {MAX_BOOKINGS} bookings.")
        now = clock.now()
        booking = Booking(
            id=new_id(),
            order_id=order.id,
            order_number=order.number,
            subject=order.subject,
            channel=body.channel,
            start=body.start,
            end=body.end,
            user_id=user_id,
            note=body.note,
            account_id=order.account_id,
            contact_id=order.contact_id,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        booking_record = _booking_record(caller.tenant, booking)
        _place_booking(booking_record, caller.tenant, booking)
        uow = UnitOfWork()
        _stage_change(caller, uow, record, order, _touched(order))
        caller.store.add(uow, booking_record)
        uow.commit()
        return booking

    return commit(run)


def _booking(caller: Caller, order_id: str, booking_id: str) -> tuple[Record, Booking]:
    record = caller.store.get(caller.tenant, BOOKING, booking_id)
    if record is None or record.data.get("order_id") != order_id:
        raise NotFound(f"No booking {booking_id} on contact order {order_id}.")
    return record, Booking.model_validate({**record.data, "version": record.version})


def update_booking(caller: Caller, order_id: str, booking_id: str, body: BookingUpdate) -> Booking:
    changes = body.changes()

    def run() -> Booking:
        record, order = _open(caller, order_id)
        booking_record, before = _booking(caller, order_id, booking_id)
        if "user_id" in changes and changes["user_id"] != before.user_id:
            _check_booking_user(caller, changes["user_id"])
        merged = {**before.model_dump(), **changes}
        check_booking_times(merged["start"], merged["end"])
        uow = UnitOfWork()
        after = _stage_booking(caller, uow, booking_record, before, **changes)
        if after.user_id != before.user_id:  # it leaves the old user's calendar: their feed shows it cancelled
            stage_cancellation(uow, caller.tenant, booking_entry(_booking_data(before), before.id), after.sequence)
        _stage_change(caller, uow, record, order, _touched(order))
        uow.commit()
        return after

    return commit(run)


def list_bookings(caller: Caller, order_id: str) -> list[Booking]:
    _load(caller, order_id)
    return sorted((b for _, b in _bookings(caller, order_id)), key=lambda b: (b.start, b.id))


def get_booking(caller: Caller, order_id: str, booking_id: str) -> Booking:
    _load(caller, order_id)
    return _booking(caller, order_id, booking_id)[1]


# ----------------------------------------------------------------------------- files


def _attachment(order: ContactOrder, file_id: str) -> Attachment:
    return files.find(order.attachments, file_id, f"contact order {order.id}")


def _folder(caller: Caller, order_id: str) -> files.Folder:
    return files.Folder(caller.tenant, KIND, order_id)


def start_file(caller: Caller, order_id: str, body: AttachmentCreate) -> AttachmentUpload:
    def run() -> Attachment:
        record, before = _open(caller, order_id)
        if len(before.attachments) >= MAX_FILES:
            raise Conflict(f"A contact order holds at most {MAX_FILES} files.")
        attachment = files.new_attachment(body, caller.user_id)
        uow = UnitOfWork()
        _stage_change(caller, uow, record, before, _touched(before, attachments=[*before.attachments, attachment]))
        uow.commit()
        return attachment

    return files.upload_of(_folder(caller, order_id), commit(run))


def complete_file(caller: Caller, order_id: str, file_id: str) -> Attachment:
    """Mark an upload done once S3 holds it."""

    def run() -> Attachment:
        record, before = _open(caller, order_id)
        done = files.uploaded(_folder(caller, order_id), _attachment(before, file_id))
        after = _touched(before, attachments=files.replaced(before.attachments, done))
        uow = UnitOfWork()
        _stage_change(caller, uow, record, before, after)
        uow.commit()
        return done

    return commit(run)


def download_file(caller: Caller, order_id: str, file_id: str) -> AttachmentDownload:
    order = get_order(caller, order_id)
    return files.download_of(_folder(caller, order_id), _attachment(order, file_id))


def delete_file(caller: Caller, order_id: str, file_id: str) -> None:
    """Needs its own permission (delete_files); allowed on a closed order too (clearing an archive)."""

    def run() -> ContactOrder:
        record, before = _load(caller, order_id)
        require(permissions(caller), Permission.delete_files, "delete an uploaded file")
        _attachment(before, file_id)
        after = _touched(before, attachments=[a for a in before.attachments if a.id != file_id])
        uow = UnitOfWork()
        _stage_change(caller, uow, record, before, after)
        uow.commit()
        return after

    commit(run)
    files.delete(files.file_key(caller.tenant, KIND, order_id, file_id))


# ----------------------------------------------------------------------------- lists


def _budget_page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    index: Any,
    hash_key: str,
    sk_name: str,
    lower: str,
    upper: str,
    condition: Any,
    convert: Any,
) -> Page[Any]:
    """One page of an index partition between two keys, filtered, reading at most READ_BUDGET items.

    A selective filter can make a page shorter than `limit` (even empty) with a cursor: the
    client follows it. So a page costs the same however large the tenant is.
    """
    scope = f"{caller.tenant}:{scope}"
    after = decode_cursor(cursor, scope, caller.signing_key)["sk"] if cursor else None
    sk = getattr(Record, sk_name)
    start = f"{after} " if after else (lower or "!")
    # A filter drops items after they are read: read bigger pages then, to need fewer round trips.
    page_size = min(READ_BUDGET, limit + 1 if condition is None else max(limit + 1, FILTERED_PAGE))
    pages = index.query(hash_key, sk.between(start, upper), filter_condition=condition, page_size=page_size).page_iter
    items: list[Record] = []
    read = 0
    position: str | None = None
    for raw in pages:
        read += int(raw.get("ScannedCount", 0))
        items.extend(Record.from_raw_data(item) for item in raw.get("Items", []))
        if len(items) > limit:  # one more than asked: there is a next page
            items = items[:limit]
            position = getattr(items[-1], sk_name)
            break
        last = pages.last_evaluated_key
        if last is None:
            break
        if read >= READ_BUDGET:
            position = last[sk_name]["S"]
            break
    next_cursor = encode_cursor({"sk": position}, scope, caller.signing_key) if position else None
    return Page[Any](items=[convert(r) for r in items], next_cursor=next_cursor)


def _filter_condition(filters: Filters, assignee: str | None) -> Any:
    data = Record.fields
    parts: list[Any] = []
    for name in ("status", "account_id", "contact_id", "facility_id"):
        value = getattr(filters, name)
        if value is not None:
            parts.append(data[name] == value)
    if assignee:
        parts.append(data["assignee_ids"].contains(assignee))
    if filters.planned_from:
        parts.append(data["planned_date"] >= filters.planned_from.isoformat())
    if filters.planned_to:
        parts.append(data["planned_date"] <= filters.planned_to.isoformat())
    condition = None
    for part in parts:
        condition = part if condition is None else condition & part
    return condition


def list_orders(
    caller: Caller, filters: Filters, cursor: str | None, limit: int, favourite_id: str | None = None
) -> Page[ContactOrder]:
    """Open orders first, by planned date or running number (tenant setting), then the closed ones."""
    perms = permissions(caller)
    require_any_view(perms)
    if favourite_id:
        filters = get_favourite(caller, favourite_id).filters
    partition_user = None if Permission.view in perms else caller.user_id
    if partition_user is None and filters.assignee_id:
        partition_user = filters.assignee_id
    by_number = settings(caller).sort_by == SortBy.number
    index, sk_name = (Record.by_rank_alt, "gsi7sk") if by_number else (Record.by_rank, "gsi6sk")
    prefix = "" if filters.closed is None else ("1#" if filters.closed else "0#")
    digest = hashlib.sha256(json.dumps(filters.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
    scope = f"contact_orders:{partition_user or ''}:{sk_name}:{digest}"
    return _budget_page(
        caller, scope, cursor, limit, index, list_key(caller.tenant, partition_user), sk_name, prefix or "0",
        f"{prefix}~" if prefix else "~", _filter_condition(filters, filters.assignee_id), order_of,
    )  # fmt: skip


# ----------------------------------------------------------------------------- favourites


def _favourites_key(caller: Caller) -> str:
    return tenant_key(caller.tenant, "CO_FAVOURITES", caller.user_id)


def create_favourite(caller: Caller, body: FavouriteCreate) -> Favourite:
    require_any_view(permissions(caller))
    existing = list(Record.query(_favourites_key(caller), Record.sk.startswith(FAVOURITE_PREFIX), limit=MAX_FAVOURITES))
    if len(existing) >= MAX_FAVOURITES:
        raise Conflict(f"A user keeps at most {MAX_FAVOURITES} favourites.")
    favourite = Favourite(
        id=new_id(), name=body.name, filters=body.filters, user_id=caller.user_id, created_at=clock.now()
    )
    item = Record(
        pk=_favourites_key(caller),
        sk=f"{FAVOURITE_PREFIX}{favourite.id}",
        kind="co_favourite",
        fields=clean(favourite.model_dump(mode="json")),
    )
    uow = UnitOfWork()
    uow.save(item, condition=Record.pk.does_not_exist())
    uow.commit()
    return favourite


def list_favourites(caller: Caller) -> list[Favourite]:
    require_any_view(permissions(caller))
    records = Record.query(_favourites_key(caller), Record.sk.startswith(FAVOURITE_PREFIX), consistent_read=True)
    return [Favourite.model_validate(r.data) for r in records]


def _favourite_record(caller: Caller, favourite_id: str) -> Record:
    require_any_view(permissions(caller))
    try:
        return Record.get(_favourites_key(caller), f"{FAVOURITE_PREFIX}{favourite_id}", consistent_read=True)
    except Record.DoesNotExist:
        raise NotFound(f"No favourite {favourite_id}.") from None


def get_favourite(caller: Caller, favourite_id: str) -> Favourite:
    return Favourite.model_validate(_favourite_record(caller, favourite_id).data)


def delete_favourite(caller: Caller, favourite_id: str) -> None:
    record = _favourite_record(caller, favourite_id)
    uow = UnitOfWork()
    uow.delete(record)
    uow.commit()


# ----------------------------------------------------------------------------- erasure


def _forget_contact(caller: Caller, order_id: str, contact_id: str) -> bool:
    """Drop an erased contact person from one order and its bookings (closed orders too)."""
    record = caller.store.get(caller.tenant, KIND, order_id)
    if record is None:
        return False
    before = order_of(record)
    if before.contact_id != contact_id:
        return False
    after = _touched(before, contact_id=None)
    uow = UnitOfWork()
    _stage_change(caller, uow, record, before, after)
    _stage_booking_copies(caller, uow, after)
    uow.commit()
    return True


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    """Orders keep their business (subject, customer, notes of the work done) but lose the person.

    The orders are listed first and each is changed in a transaction of its own, so a redelivery
    or a crash midway finishes the job: an order already changed no longer names the contact.
    """
    contact_id = str(envelope.data["id"])
    caller = service_caller(envelope.tenant_id)
    key = tenant_key(caller.tenant, "CONTACT", contact_id, "CONTACT_ORDER")
    order_ids = [r.record_id for r in Record.by_contact.query(key, page_size=100)]
    changed = 0
    for order_id in order_ids:
        changed += bool(run_with_retries(partial(_forget_contact, caller, order_id, contact_id)))
    logger.info("contact erased from contact orders", extra={"contact_id": contact_id, "orders": changed})
