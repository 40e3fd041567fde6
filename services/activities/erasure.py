"""GDPR erasure of what the activities service holds about a contact (`contact.erased`).

The directory erases the person and publishes `contact.erased`; each feature here erases its own
data in its own subscription (marketing activities in `marketing.py`, call-list rows and contact
orders in theirs). This module erases the person from events and tasks, and keeps the marker that
tells every feature the contact is gone, so that nothing new is recorded about them afterwards.

Events and tasks stay (they are the users' work and the accounts' history) but lose what ties
them to the person: the contact link, the description, the location and the memos, the free
text that may name or describe them. The subject is kept: it is required and usually names the
business at hand. Each activity is changed like any change (hooks run, `activity.updated` is
published), in a transaction of its own, so any number of them fit and a crash or a redelivery
simply finishes the job: an activity already erased no longer names the contact and is skipped.

Attachments are kept: they are documents of the account's business more often than of the
person (an open question for the product owner; deleting them would be one more step here).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from services.activities import activities
from services.activities.domain.models import Activity
from services.activities.service import Caller, service_caller
from services.activities.store import Record, new_record, record_key
from services.activities.subscriptions import subscribe
from shared import clock
from shared.contracts.directory import ContactErased
from shared.errors import ValidationFailed
from shared.events import Envelope
from shared.observability import logger
from shared.service import model_of
from shared.store import AlreadyApplied, UnitOfWork, run_with_retries, tenant_key

ERASED = "erased_contact"
PAGE_SIZE = 100


# ----------------------------------------------------------------------------- the marker


def mark_erased(caller: Caller, contact_id: str) -> None:
    """Remember that a contact was erased (no personal data: its id and when)."""
    if is_erased(caller, contact_id):
        return
    uow = UnitOfWork()
    uow.save(
        new_record(caller.tenant, ERASED, contact_id, {"erased_at": clock.iso(clock.now())}),
        condition=Record.pk.does_not_exist(),
        on_conflict=AlreadyApplied,
    )
    with suppress(AlreadyApplied):  # marked by another feature's subscription in between
        uow.commit()


def is_erased(caller: Caller, contact_id: str) -> bool:
    return caller.store.get(caller.tenant, ERASED, contact_id) is not None


def refuse_if_erased(uow: UnitOfWork, tenant: str, contact_id: str, on_fail: Callable[[], Exception]) -> None:
    """Commit only while the contact is not marked erased (closes the race with an erasure)."""
    uow.check(Record, record_key(tenant, ERASED, contact_id), ERASED.upper(), Record.pk.does_not_exist(), on_fail)


@activities.on_change
def _no_new_link_to_an_erased_contact(
    caller: Caller, uow: UnitOfWork, before: Activity | None, after: Activity | None
) -> None:
    """An event or task may not be linked anew to an erased contact (422 naming contact_id)."""
    if after is None or not after.contact_id or (before is not None and before.contact_id == after.contact_id):
        return
    contact_id = after.contact_id
    refuse_if_erased(
        uow,
        caller.tenant,
        contact_id,
        lambda: ValidationFailed.on("contact_id", f"Contact {contact_id} was erased.", "contact_erased"),
    )


# ----------------------------------------------------------------------------- events and tasks


def scrubbed(before: Activity) -> Activity:
    """The activity without the person: no link, no free text that may describe them."""
    return before.model_copy(
        update={
            "contact_id": None,
            "description": None,
            "location": None,
            "memos": [],
            "updated_at": clock.now(),
            "sequence": before.sequence + 1,
        }
    )


def _erase_activity(caller: Caller, activity_id: str, contact_id: str) -> bool:
    """Erase the contact from one activity; False when there was nothing (left) to do."""

    def run() -> bool:
        record = caller.store.get(caller.tenant, activities.KIND, activity_id)
        if record is None:
            return False
        before = model_of(record, Activity)
        if before.contact_id != contact_id:
            return False
        uow = UnitOfWork()
        activities.stage_change(caller, uow, record, before, scrubbed(before))
        uow.commit()
        return True

    return bool(run_with_retries(run))


def linked_activity_ids(caller: Caller, contact_id: str) -> list[str]:
    """The events and tasks linked to a contact, read in full before any is changed.

    Changing one takes it out of the `by_contact` index, so the list is read first rather than
    paged while writing (a page's start key would point at an item gone from the index).
    """
    key = tenant_key(caller.tenant, "CONTACT", contact_id, activities.KIND.upper())
    return [r.record_id for r in Record.by_contact.query(key, page_size=PAGE_SIZE)]


def erase_activities(caller: Caller, contact_id: str) -> int:
    return sum(_erase_activity(caller, i, contact_id) for i in linked_activity_ids(caller, contact_id))


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    """Events and tasks forget the person. Works in its own transactions (one per activity):
    the event's unit of work, shared with the other features, only takes the dedupe marker."""
    contact_id = ContactErased.model_validate(envelope.data).id
    caller = service_caller(envelope.tenant_id)
    mark_erased(caller, contact_id)
    erased = erase_activities(caller, contact_id)
    logger.info("contact erased from activities", extra={"contact_id": contact_id, "activities": erased})
