"""GDPR erasure of what the SMS service holds about a contact (`contact.erased`).

The directory erases the person and publishes `contact.erased`; the contacts projection
(shared/recipients.py) tombstones its row, so nothing new is sent to the contact (POST
/sms/messages and the sends find no such contact). This module erases the person from what was
sent and received: the contact's `message` and `inbound` records, found through `by_contact`.

Each record stays (the tenant's accounting and statistics: status, parts, credits, timestamps,
send_id; the ledger entries and the send counters are untouched) but loses what names the
person: the numbers (`to` and the number as the contact held it; an inbound message's sender) and
the text, which tags filled with their name or which they wrote (ERASED instead). The record
leaves the contact's index, so the contact's history lists nothing; its `contact_id` stays, an id
that names no one once the directory erased the person, and that keeps the rule that a record of
an erased contact is seen only by users who see every contact.

A message not sent yet (`queued`, or `waiting` for the sending window) is not sent: it becomes
`skipped` (reason "contact erased") and its credits are refunded (a send's message only once the
send reserved them: it is "sending"), in the same write, its send's counters moved as any status
change moves them (sending.stage_fields). A message the sender has
claimed (`sending`) is erased like a sent one: its receipt settles it; the sender never sends an
erased message again (sending._classify fails it, refunded, when its proof window passes).

Each record is erased in a transaction of its own, version-checked (a claim or a settlement in
between makes it read again), so any number of them fit and a redelivery or a crash midway simply
finishes the job: an erased record no longer lists under the contact. The records are listed in
full before any is changed (each change takes one out of the index a page's start key would name).

Kept: the opt-out record (id = the E.164 number): a suppression list must outlive the person, or
the number could be messaged again; and store.ProviderMessageItem (ids only), by which a later
STOP from the number still finds the tenant. docs/decisions.md says why.
"""

from __future__ import annotations

from functools import partial

from services.sms import credits, send_stats
from services.sms.domain.messages import KIND, SmsMessageStatus
from services.sms.domain.sends import KIND as SEND
from services.sms.domain.sends import SendStatus
from services.sms.inbound import INBOUND
from services.sms.service import Caller, service_caller
from services.sms.store import Record
from services.sms.subscriptions import subscribe
from shared import clock
from shared.contracts.directory import ContactErased
from shared.events import Envelope
from shared.observability import logger
from shared.store import ConcurrentUpdate, UnitOfWork, run_with_retries, tenant_key

ERASED = "[erased]"  # the text (and an inbound sender's number) of an erased contact's record
REASON = "contact erased"
NOT_SENT = (SmsMessageStatus.queued.value, SmsMessageStatus.waiting.value)


def _erase(caller: Caller, kind: str, record_id: str, contact_id: str) -> bool:
    """Erase the person from one record; False when there was nothing (left) to do."""
    record = caller.store.get(caller.tenant, kind, record_id)
    if record is None or record.gsi2pk != tenant_key(caller.tenant, "CONTACT", contact_id, kind.upper()):
        return False
    data = {**record.data, "text": ERASED, "erased_at": clock.iso(clock.now())}
    uow = UnitOfWork()
    if kind == KIND:
        data.pop("number", None)
        data.pop("to", None)
        if data.get("status") in NOT_SENT:  # never sent: skipped, its credits back
            send_stats.count(uow, record, SmsMessageStatus.skipped.value)
            data.update(status=SmsMessageStatus.skipped.value, reason=REASON)
            data.pop("due_at", None)
            record.set_due(caller.tenant, None)
            if _reserved(caller, uow, record):
                credits.refund(caller, uow, int(record.data.get("credits") or 0), None, record.record_id)
    else:
        data["number"] = ERASED
    record.link_contact(caller.tenant, None)
    caller.store.replace(uow, record, data)
    uow.commit()
    return True


def _reserved(caller: Caller, uow: UnitOfWork, record: Record) -> bool:
    """Whether a message not sent yet holds reserved credits: one of no send always does; a send's
    only once the send is "sending" (its last page reserved them all, send_recipients.finish).
    The write then commits only while the send's status is still the one read."""
    send_id = record.data.get("send_id")
    if not send_id:
        return True
    send = caller.store.get(caller.tenant, SEND, str(send_id))
    status = str(send.data.get("status")) if send is not None else ""
    if send is not None:
        uow.check(Record, send.pk, send.sk, Record.fields["status"] == status, ConcurrentUpdate)
    return status == SendStatus.sending.value


def linked_ids(caller: Caller, contact_id: str, kind: str) -> list[str]:
    return [r.record_id for r in caller.store.of_contact(caller.tenant, contact_id, kind)]


def erase_contact(caller: Caller, contact_id: str) -> dict[str, int]:
    erased = {}
    for kind in (KIND, INBOUND):
        ids = linked_ids(caller, contact_id, kind)
        erase = partial(_erase, caller, kind, contact_id=contact_id)
        erased[f"{kind}_records"] = sum(bool(run_with_retries(partial(erase, i))) for i in ids)
    return erased


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    """Messages and inbound messages forget the person, each in its own transaction: the event's
    unit of work, shared with the projection's tombstone, only takes the dedupe marker."""
    contact_id = ContactErased.model_validate(envelope.data).id
    caller = service_caller(envelope.tenant_id)
    erased = erase_contact(caller, contact_id)
    logger.info("contact erased from SMS", extra={"contact_id": contact_id, **erased})
