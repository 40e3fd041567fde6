"""Contact orders [003]: GDPR erasure of a contact person from the orders (`contact.erased`)."""

from __future__ import annotations

from functools import partial

from services.activities.order_bookings import stage_booking_copies
from services.activities.order_records import KIND, order_of, stage_change, touched
from services.activities.service import Caller, service_caller
from services.activities.store import Record
from services.activities.subscriptions import subscribe
from shared.contracts.directory import ContactErased
from shared.events import Envelope
from shared.observability import logger
from shared.store import UnitOfWork, run_with_retries, tenant_key


def _forget_contact(caller: Caller, order_id: str, contact_id: str) -> bool:
    """Drop an erased contact person from one order and its bookings (closed orders too)."""
    record = caller.store.get(caller.tenant, KIND, order_id)
    if record is None:
        return False
    before = order_of(record)
    if before.contact_id != contact_id:
        return False
    after = touched(before, contact_id=None)
    uow = UnitOfWork()
    stage_change(caller, uow, record, before, after)
    stage_booking_copies(caller, uow, after)
    uow.commit()
    return True


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    """Orders keep their business (subject, customer, notes of the work done) but lose the person.

    The orders are listed first and each is changed in a transaction of its own, so a redelivery
    or a crash midway finishes the job: an order already changed no longer names the contact.
    """
    contact_id = ContactErased.model_validate(envelope.data).id
    caller = service_caller(envelope.tenant_id)
    key = tenant_key(caller.tenant, "CONTACT", contact_id, "CONTACT_ORDER")
    order_ids = [r.record_id for r in Record.by_contact.query(key, page_size=100)]
    changed = 0
    for order_id in order_ids:
        changed += bool(run_with_retries(partial(_forget_contact, caller, order_id, contact_id)))
    logger.info("contact erased from contact orders", extra={"contact_id": contact_id, "orders": changed})
