"""GDPR erasure of what the email service holds about a contact (`contact.erased`).

The directory erases the person and publishes `contact.erased`; the recipients projection
tombstones the contact's row (`recipients.py`), and this module erases the person from every mail
sent (or to be sent) to them: transactional mails and campaign recipients alike are message
records listed under the contact (`by_contact`).

Each message loses what is personal: the address and the name, the rendered subject, HTML and
text, the attachments' names, the links it recorded (a click on an erased mail goes nowhere), the
error text (a provider's reply may quote the address), and from its feedback history (and each
"feedback" record) the recipient, the URL clicked and the provider's reason. What the tenant's
statistics need stays: the status, the delivery word, the timestamps (sent, delivered, opened,
clicked, bounced ...), the campaign, template and list type, the account. No campaign counter
changes. The message no longer lists under the contact (`contact_id` and the `by_contact` keys
go) and carries `erased_at`.

Each message is erased in a transaction of its own (the message with its feedback records: at
most HISTORY_LIMIT + 1 items), so any number of them fit, and a crash or a redelivery simply
finishes the job: a message already erased carries `erased_at` and no longer lists under the
contact. A mail still queued is not sent afterwards: the sender marks a queued (or unproven
claimed) mail with `erased_at` "skipped" through its usual status path (its campaign's counters
move from queued to skipped as for a cancelled campaign). A mail the sender had claimed and sends
at that moment goes (it was on its way; its record is erased all the same).

Kept: suppressions, opt-outs and soft-bounce counts. They are keyed by the address, not the
contact, and must stay so that an address that opted out or bounced is never mailed again
(docs/decisions.md). Feedback older than the message's history (the latest HISTORY_LIMIT
reports) is not found from the message and keeps its recipient (an edge: 50 reports per mail).
"""

from __future__ import annotations

from typing import Any

from services.email.domain.feedback import Kind
from services.email.domain.messages import KIND, RECORD_KEEPS, erased_message
from services.email.feedback import FEEDBACK
from services.email.service import Caller, service_caller
from services.email.store import Record
from services.email.subscriptions import subscribe
from services.email.transactional import contact_key
from shared import clock
from shared.contracts.directory import ContactErased
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.store import UnitOfWork, run_with_retries

PAGE_SIZE = 100


def feedback_ids(message_id: str, data: dict[str, Any]) -> list[str]:
    """The ids of the message's feedback records its history names (`Feedback.key`, derived)."""
    ids = []
    for report in data.get("feedback", []):
        parts = (message_id, str(report.get("kind")), str(report.get("recipient") or data.get("to") or ""))
        url = report.get("url")
        ids.append(derived_id(*parts, url) if report.get("kind") == Kind.clicked and url else derived_id(*parts))
    return list(dict.fromkeys(ids))


def _erase_message(caller: Caller, message_id: str, contact_id: str) -> bool:
    """Erase the person from one message and its feedback records; False when there was nothing (left)."""

    def run() -> bool:
        record = caller.store.get(caller.tenant, KIND, message_id)
        if record is None or record.data.get("erased_at") or record.data.get("contact_id") != contact_id:
            return False
        uow = UnitOfWork()
        for report in caller.store.get_many(caller.tenant, FEEDBACK, feedback_ids(message_id, record.data)).values():
            caller.store.replace(uow, report, {k: v for k, v in report.data.items() if k in RECORD_KEEPS})
        record.gsi2pk = record.gsi2sk = None  # no longer listed under the contact
        caller.store.replace(uow, record, erased_message(record.data, clock.iso(clock.now())))
        uow.commit()
        return True

    return bool(run_with_retries(run))


def message_ids(caller: Caller, contact_id: str) -> list[str]:
    """The contact's messages, read in full before any is changed (erasing one takes it out of the
    index, so a page's start key would point at an item gone from it)."""
    return [r.record_id for r in Record.by_contact.query(contact_key(caller.tenant, contact_id), page_size=PAGE_SIZE)]


def erase_messages(caller: Caller, contact_id: str) -> int:
    return sum(_erase_message(caller, i, contact_id) for i in message_ids(caller, contact_id))


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    """The contact's mails forget the person. Works in its own transactions (one per message): the
    event's unit of work, shared with the recipients projection, only takes the dedupe marker."""
    contact_id = ContactErased.model_validate(envelope.data).id
    erased = erase_messages(service_caller(envelope.tenant_id), contact_id)
    logger.info("contact erased from email", extra={"contact_id": contact_id, "messages": erased})
