"""Contact orders [003]: the records of an order, and the one way they change.

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
against a concurrent change), its derived records and its event in one transaction: `stage_change`
stages them; `change_order` runs a command that changes one order whole. Who may see and change an order is checked on
loading it (`load_order`, `open_order`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from pynamodb.attributes import MapAttribute, UnicodeAttribute

from services.activities import events as ev
from services.activities.activities import stamp
from services.activities.domain.contact_orders import ContactOrder, can_see, day_start, rank_by_number, rank_by_planned
from services.activities.domain.order_settings import Permission, require, require_any_view
from services.activities.order_settings import permissions
from services.activities.service import Caller
from services.activities.store import Record, clean, new_record, record_key
from shared import clock
from shared.errors import Conflict, NotFound
from shared.events import changes_of
from shared.ids import derived_id
from shared.service import commit
from shared.store import TableItem, UnitOfWork, tenant_key

KIND = "contact_order"
MEMBER = "co_member"
ASSIGNMENT = "assignment"

T = TypeVar("T", bound=BaseModel)


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


# ----------------------------------------------------------------------------- loading


def order_of(record: Record) -> ContactOrder:
    """The order an order record or a member copy holds."""
    data = record.data
    version = record.version if record.kind == KIND else data.get("order_version")
    return ContactOrder.model_validate({**data, "version": version or 1})


def load_order(caller: Caller, order_id: str) -> tuple[Record, ContactOrder]:
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


def open_order(
    caller: Caller, order_id: str, needed: Permission | None = Permission.edit
) -> tuple[Record, ContactOrder]:
    """A visible, open order the caller holds `needed` on; a closed (archived) one is 409."""
    record, order = load_order(caller, order_id)
    if needed is not None:
        require(permissions(caller), needed, "change this contact order")
    if order.closed:
        raise Conflict("The contact order is closed (archived); it can no longer change.")
    return record, order


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


# ----------------------------------------------------------------------------- changing


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


def stage_new(caller: Caller, uow: UnitOfWork, order: ContactOrder) -> None:
    """A new order's record and its derived records (the command publishes its events)."""
    record = new_record(caller.tenant, KIND, order.id, _order_data(order))
    _place_order(record, caller.tenant, order)
    caller.store.add(uow, record)
    _stage_derived(caller, uow, None, order)


def stage_removal(caller: Caller, uow: UnitOfWork, record: Record, order: ContactOrder) -> None:
    """Remove an order's record and its derived records."""
    caller.store.remove(uow, record)
    _stage_derived(caller, uow, order, None)


def stage_change(
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
        uow.publish(caller.event(event_type, payload, changes=changes_of(before, after)))
    publish_assigned(caller, uow, set(before.assignee_ids), after)


def publish_assigned(caller: Caller, uow: UnitOfWork, before: set[str], after: ContactOrder) -> None:
    """Notify colleagues newly assigned (not the caller who assigned themselves)."""
    added = [u for u in after.assignee_ids if u not in before and u != caller.user_id]
    if added:
        payload = ev.ContactOrderAssigned(
            id=after.id, number=after.number, subject=after.subject, assignee_ids=added, assigned_by=caller.user_id
        )
        uow.publish(caller.event("contact_order.assigned", payload))


def touched(before: ContactOrder, **changes: Any) -> ContactOrder:
    return before.model_copy(update={**changes, "updated_at": clock.now()}, deep=True)


def change_order(
    caller: Caller,
    order_id: str,
    change: Callable[[ContactOrder, UnitOfWork], tuple[ContactOrder, T]],
    load: Callable[[Caller, str], tuple[Record, ContactOrder]] | None = None,
    event_type: str = "contact_order.updated",
) -> T:
    """One change of an order in a transaction of its own, retried on a concurrent change.

    `change` gets the order as it is (by default an open one the caller may edit) and the unit of
    work, for the records it writes beside the order; it returns the order's new state and the
    command's result. The order, its derived records and its event are staged after it; when it
    returns the order itself, unchanged, nothing is written.
    """

    def run() -> T:
        record, before = (load or open_order)(caller, order_id)
        uow = UnitOfWork()
        after, result = change(before, uow)
        if after is before:
            return result
        stage_change(caller, uow, record, before, after, event_type)
        uow.commit()
        return result

    return commit(run)
