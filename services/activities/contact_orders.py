"""Contact orders [003]: create, change, assign, close, convert and delete an order; its time log.

One feature, one module each (rules in domain/<same name>.py, routes in handlers/routes/):

- contact_orders.py (this one): the order's own commands; order_records.py: its records (the
  order, its list copies and assignments), how it is loaded and how every change is staged;
- order_lists.py: the list (open first, by planned date or running number); order_favourites.py:
  saved list filters; order_settings.py: the tenant's settings and the permissions;
- order_notes.py, order_bookings.py, order_files.py, facilities.py: what an order holds or names;
- order_erasure.py: `contact.erased` removes the contact person from orders and bookings.
"""

from __future__ import annotations

from decimal import Decimal

from services.activities import events as ev
from services.activities import files, references
from services.activities.domain.contact_orders import (
    MAX_HOURS,
    MAX_TIME_ENTRIES,
    AssigneesReplace,
    ContactOrder,
    ContactOrderCreate,
    ContactOrderUpdate,
    ConversionResult,
    Location,
    TimeEntry,
    TimeEntryCreate,
    check_assignees,
    customer_errors,
)
from services.activities.domain.facilities import facility_errors
from services.activities.domain.order_bookings import BookingStatus
from services.activities.domain.order_settings import Permission, check_status, format_number, require
from services.activities.facilities import resolve_facility
from services.activities.order_bookings import stage_booking_copies, stage_cancelled
from services.activities.order_notes import delete_notes, notes_for_event
from services.activities.order_records import (
    KIND,
    change_order,
    load_order,
    open_order,
    publish_assigned,
    stage_change,
    stage_new,
    stage_removal,
    touched,
)
from services.activities.order_settings import permissions, settings
from services.activities.service import Caller
from shared import clock
from shared.contracts.contact_orders import NewCustomer, NewCustomerContact, new_customer_ids
from shared.errors import Conflict, ValidationFailed
from shared.ids import derived_id, new_id
from shared.service import commit, patch_changes
from shared.store import UnitOfWork

COUNTER = "contact_orders"


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
    contact_id, account_id = references.resolved(caller, body.contact_id, body.account_id)
    body = body.model_copy(update={"contact_id": contact_id, "account_id": account_id})

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
        facility_id, facility_name = resolve_facility(caller, uow, body.facility_id, body.facility_name, account_id)
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
        stage_new(caller, uow, order)
        payload = ev.ContactOrderCreated(id=order.id, order=order.model_dump(mode="json"), new_customer=new_customer)
        uow.publish(caller.event("contact_order.created", payload))
        publish_assigned(caller, uow, set(), order)
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


def get_order(caller: Caller, order_id: str) -> ContactOrder:
    return load_order(caller, order_id)[1]


def update_order(caller: Caller, order_id: str, body: ContactOrderUpdate) -> ContactOrder:
    changes = body.changes()
    errors = facility_errors(changes)
    if errors:
        raise ValidationFailed("The facility is not valid.", errors)
    needed = Permission.edit if set(changes) - {"assignee_ids"} else None  # assigning has its own permissions
    contact_id, account_id = references.resolved(caller, changes.get("contact_id"), changes.get("account_id"))
    changes.update({k: v for k, v in (("contact_id", contact_id), ("account_id", account_id)) if k in changes})

    def change(before: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, ContactOrder]:
        if not patch_changes(before, changes):
            return before, before  # nothing written
        if "assignee_ids" in changes:
            check_assignees(permissions(caller), caller.user_id, before.assignee_ids, changes["assignee_ids"])
        if "status" in changes and changes["status"] != before.status:
            check_status(settings(caller), changes["status"])
        data = {**before.model_dump(), **changes}
        if {"facility_id", "facility_name"} & set(changes):
            data["facility_id"], data["facility_name"] = resolve_facility(
                caller, uow, changes.get("facility_id"), changes.get("facility_name"), data["account_id"]
            )
        data["updated_at"] = clock.now()
        after = ContactOrder.model_validate(data)
        if {"subject", "account_id", "contact_id"} & set(changes):
            stage_booking_copies(caller, uow, after)
        return after, after

    return change_order(caller, order_id, change, lambda c, i: open_order(c, i, needed))


def replace_assignees(caller: Caller, order_id: str, body: AssigneesReplace) -> ContactOrder:
    return update_order(caller, order_id, ContactOrderUpdate(assignee_ids=body.assignee_ids))


def delete_order(caller: Caller, order_id: str) -> None:
    def run() -> ContactOrder:
        record, before = load_order(caller, order_id)
        require(permissions(caller), Permission.delete, "delete a contact order")
        uow = UnitOfWork()
        stage_removal(caller, uow, record, before)
        stage_cancelled(caller, uow, order_id, (BookingStatus.open, BookingStatus.done))
        payload = ev.ContactOrderChanged(id=before.id, order=before.model_dump(mode="json"))
        uow.publish(caller.event("contact_order.deleted", payload))
        uow.commit()
        return before

    deleted = commit(run)
    delete_notes(caller, order_id)
    for attachment in deleted.attachments:
        files.delete(files.file_key(caller.tenant, KIND, order_id, attachment.id))


def close_order(caller: Caller, order_id: str) -> ContactOrder:
    """Close = archive: it stays listed (after the open ones); its open bookings are cancelled."""

    def change(before: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, ContactOrder]:
        require(permissions(caller), Permission.edit, "close a contact order")
        if before.closed:
            return before, before  # closing twice changes nothing
        after = touched(before, closed=True, closed_at=clock.now(), closed_by=caller.user_id)
        stage_cancelled(caller, uow, order_id, (BookingStatus.open,))
        return after, after

    return change_order(caller, order_id, change, load_order, "contact_order.closed")


def convert_order(caller: Caller, order_id: str) -> ConversionResult:
    """Ask invoicing for a sales order from this contact order; an order converts once."""

    def run() -> ConversionResult:
        record, before = open_order(caller, order_id)
        if before.converted_at is not None:
            raise Conflict(f"The contact order was converted already (sales order {before.sales_order_id}).")
        sales_order_id = derived_id(order_id, "sales_order")
        after = touched(before, converted_at=clock.now(), converted_by=caller.user_id, sales_order_id=sales_order_id)
        uow = UnitOfWork()
        stage_change(caller, uow, record, before, after)
        notes, truncated = notes_for_event(caller, order_id)
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


def add_time(caller: Caller, order_id: str, body: TimeEntryCreate) -> ContactOrder:
    """Log hours: the entry is kept and its hours add to the order's total."""

    def change(before: ContactOrder, uow: UnitOfWork) -> tuple[ContactOrder, ContactOrder]:
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
            raise ValidationFailed.on("hours", f"The order's total would exceed {MAX_HOURS} hours.", "total_too_large")
        after = touched(before, time_entries=[*before.time_entries, entry], hours_spent=total)
        return after, after

    return change_order(caller, order_id, change)
