"""Merged contacts and accounts (`contact.merged`, `account.merged`, issue 24 item 4) as the
scanner applies them (shared/merges.py).

A ticket names its requester's contact (`requester_contact_id`, listed in `by_contact`) and that
contact's account (`requester_account_id`, listed in `by_parent` under the account). The steps:
1. the kernel's markers (`mark_merged`): from then on an inbound mail whose derived requester
   contact was merged names the survivor (inbound.py);
2. the contacts projection (recipients.py): a merged contact's row becomes a tombstone (`merged`:
   a late `contact.*` about it changes nothing and no new mail finds it by address) and the
   survivor's row takes the event's `record` when newer; a merged account's row is marked gone (its
   contacts' rows drop its copy until the directory's `contact.updated` names the survivor's) and
   the survivor's row takes the event's `record`;
3. each ticket listed under a merged id moves to the survivor in a transaction of its own, with
   `ticket.updated` naming the field; a ticket re-read that no longer names a merged id is skipped.
A crash anywhere and a second delivery leave every ticket on the survivor once.
"""

from __future__ import annotations

from functools import partial

from services.scanner import recipients, tickets
from services.scanner.events import TicketUpdated
from services.scanner.service import Caller, service_caller
from services.scanner.store import Record
from services.scanner.subscriptions import subscribe
from shared.events import Envelope
from shared.merges import mark_merged, merge_of, move_each, resolve
from shared.observability import logger
from shared.store import UnitOfWork, tenant_key

FIELDS = {"contact": "requester_contact_id", "account": "requester_account_id"}


def _ticket_ids(caller: Caller, entity: str, record_id: str) -> list[str]:
    if entity == "contact":
        return [r.record_id for r in caller.store.of_contact(caller.tenant, record_id, tickets.TICKET)]
    key = tenant_key(caller.tenant, "ACCOUNT", record_id, tickets.TICKET.upper())
    return [r.record_id for r in Record.by_parent.query(key)]


def _move_ticket(caller: Caller, field: str, merged: set[str], target: str, ticket_id: str) -> bool:
    record = caller.store.get(caller.tenant, tickets.TICKET, ticket_id)
    if record is None or record.data.get(field) not in merged:
        return False
    after = {**record.data, field: target}
    record.data = after
    tickets.index(record, caller.tenant)
    uow = UnitOfWork()
    caller.store.replace(uow, record, after)
    shown = tickets.after(record.record_id, after, record.version)
    uow.publish(caller.event("ticket.updated", TicketUpdated(id=record.record_id, ticket=shown, changed=[field])))
    uow.commit()
    return True


def _project(tenant: str, entity: str, merged: set[str], target: str, record: dict[str, object]) -> None:
    """The contacts projection forgets the merged records and takes the survivor as it is now."""
    projection = recipients.PROJECTION
    for merged_id in sorted(merged):
        if entity == "contact":
            projection.bury(tenant, merged_id, "merged")
        else:
            projection.account_deleted(tenant, merged_id)
    if not record:
        return
    if entity == "contact":
        projection.contact_changed(tenant, dict(record), target)
    else:
        projection.account_changed(tenant, dict(record), target)


@subscribe("contact.merged")
@subscribe("account.merged")
def on_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    """Move the tickets of the merged records, each in a write of its own (the event's unit of work
    takes only the dedupe marker)."""
    entity, merge = merge_of(envelope)
    caller = service_caller(envelope.tenant_id)
    mark_merged(caller.store, caller.tenant, entity, merge)
    target = resolve(caller.store, caller.tenant, entity, merge.id)
    merged = set(merge.merged_ids) - {target}
    # the projection first: from then on no new mail finds a merged contact by its address;
    # a survivor merged on since (a chain): its own merge's event carries its newer record
    _project(caller.tenant, entity, merged, target, merge.record if target == merge.id else {})
    moved = 0
    for merged_id in sorted(merged):
        found = _ticket_ids(caller, entity, merged_id)
        moved += move_each(found, partial(_move_ticket, caller, FIELDS[entity], merged, target))
    logger.info("records merged", extra={"entity": entity, "survivor_id": target, "tickets": moved})
