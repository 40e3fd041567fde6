"""Invoicing items: create, read, list and delete; a contact's erasure unlinks the person from them.

Records: kind "item", id = a new id, data {name, description, contact_id?, created_by,
created_at}, listed under their contact in `by_contact`. Every command commits its records and
its event together (`UnitOfWork`: the outbox item rides in the same transaction).
"""

from datetime import datetime

from services.invoicing.domain.items import Item, ItemCreate
from services.invoicing.events import InvoicingItemChanged, InvoicingItemDeleted
from services.invoicing.service import Caller, service_caller
from services.invoicing.store import Record
from services.invoicing.subscriptions import subscribe
from shared import clock
from shared.contracts.directory import ContactErased
from shared.errors import NotFound
from shared.events import Envelope
from shared.ids import new_id
from shared.pagination import Page
from shared.service import kind_page, model_of
from shared.store import UnitOfWork

ITEM = "item"


def _record(caller: Caller, item_id: str) -> Record:
    record = caller.store.get(caller.tenant, ITEM, item_id)
    if record is None:
        raise NotFound(f"No item {item_id}.")
    return record


def create_item(caller: Caller, body: ItemCreate) -> Item:
    data = {**body.model_dump(), "created_by": caller.user_id, "created_at": clock.now().isoformat()}
    record = caller.store.new(caller.tenant, ITEM, new_id(), data)
    record.link_contact(caller.tenant, body.contact_id)
    uow = UnitOfWork()
    caller.store.add(uow, record)
    changed = InvoicingItemChanged(id=record.record_id, name=body.name, contact_id=body.contact_id)
    uow.publish(caller.event("invoicing_item.created", changed))
    uow.commit()
    return model_of(record, Item)


def get_item(caller: Caller, item_id: str) -> Item:
    return model_of(_record(caller, item_id), Item)


def list_items(caller: Caller, cursor: str | None, limit: int, updated_since: datetime | None = None) -> Page[Item]:
    return kind_page(caller, ITEM, cursor, limit, Item, updated_since)


def delete_item(caller: Caller, item_id: str) -> None:
    record = _record(caller, item_id)
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    uow.publish(caller.event("invoicing_item.deleted", InvoicingItemDeleted(id=item_id)))
    uow.commit()


@subscribe("contact.erased")
def forget_contact(envelope: Envelope, uow: UnitOfWork) -> None:
    """Unlink an erased contact from its items, one transaction per item.

    A crash part-way loses nothing: the event is delivered again and finds only the items not
    yet unlinked (an unlinked item leaves the contact's index); the dedupe marker commits last.
    """
    contact_id = ContactErased.model_validate(envelope.data).id
    caller = service_caller(envelope.tenant_id)
    for record in list(caller.store.of_contact(caller.tenant, contact_id, ITEM)):
        step = UnitOfWork()
        record.link_contact(caller.tenant, None)
        caller.store.replace(step, record, {**record.data, "contact_id": None})
        step.commit()
