"""GDPR erasure of what the scanner holds about a contact (`contact.erased`, issue 21 item 8).

The directory erases the person and publishes `contact.erased`; this module erases the
person from the tickets they requested (listed under them in `by_contact`):
- every article of the ticket loses the person's addresses (From, To, Cc, a reply's delivery) and
  its subject (their mail's, or `Re:` it); an article they wrote (an inbound mail from one of
  their addresses) also loses its bodies (ERASED instead) and its attachments, deleted from the
  mail bucket (a reply's attachments copied for the email service are the email service's);
- the ticket loses its requester (link and address), the person's addresses among its
  participants and its subject (their mail's); its number, status, priority, owner, mailbox and
  timestamps stay.
Last, the contacts projection's row (recipients.py) becomes a tombstone, here rather than by the
projection's own handler (which would run first in a worker that loaded recipients.py before): no
later mail links to the contact.

The articles are erased first, each in a write of its own (an erased article is erased again as a
no-op), the ticket last, version-checked: it then leaves the contact's index, so a redelivery or a
crash midway finishes the job and a second delivery finds nothing to do.

Tickets where the person only takes part (a Cc, a later correspondent) are listed under each
address (`T#<t>#PARTICIPANT#<digest>`, threads.py): the person's addresses are their tickets'
requester addresses and the address of the contacts projection's row (read before the projection's
handler here buries it: recipients.py leaves `contact.erased` to this module). Such a ticket's articles lose the
person's addresses (and, for a mail they wrote, its bodies and attachments; the subject only when
it was theirs), the ticket them among its participants; the listing item goes last, so a
redelivery finds nothing left.

Not reached: the raw mail under `inbound/` in the bucket, which its lifecycle rule expires after
30 days.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from services.scanner import recipients, threads, tickets
from services.scanner.events import TicketUpdated
from services.scanner.service import Caller, service_caller
from services.scanner.store import Record
from services.scanner.subscriptions import subscribe
from shared import clock
from shared.contracts.directory import ContactErased
from shared.events import Envelope
from shared.observability import logger
from shared.recipients import RECIPIENT
from shared.store import UnitOfWork, run_with_retries, tenant_key

ERASED = "[erased]"


@cache
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def _without(found: list[dict[str, Any]] | None, addresses: set[str]) -> list[dict[str, Any]]:
    return [a for a in found or [] if str(a.get("email") or "").lower() not in addresses]


def _erase_article(caller: Caller, article_id: str, addresses: set[str], requested: bool = True) -> bool:
    record = caller.store.get(caller.tenant, tickets.ARTICLE, article_id)
    if record is None:
        return False
    data = dict(record.data)
    theirs = data.get("kind") == "inbound_mail" and any(
        str(a.get("email") or "").lower() in addresses for a in data.get("from") or []
    )
    changed = dict(data)
    for field in ("from", "to", "cc"):
        changed[field] = _without(data.get(field), addresses)
    if requested or theirs:  # on their own ticket every article's subject is the person's mail's (Re: ...)
        changed["subject"] = ERASED
    changed["delivery"] = [
        {**d, "to": ERASED, "reason": None} if str(d.get("to") or "").lower() in addresses else d
        for d in data.get("delivery") or []
    ]
    if theirs:
        for attachment in data.get("attachments") or []:
            _s3().delete_object(Bucket=tickets.bucket(), Key=attachment["key"])
        changed |= {"text": ERASED, "new_text": ERASED, "html": None, "attachments": []}
    if changed == data:
        return False
    uow = UnitOfWork()
    caller.store.replace(uow, record, changed | {"erased_at": clock.iso(clock.now())})
    uow.commit()
    return True


def _stage_updated(uow: UnitOfWork, caller: Caller, record: Record, changed: list[str]) -> None:
    """`ticket.updated` for an erasure written at `record`'s version: the ticket as shown after it
    (without the person), `articles` among the changes (their addresses and the bodies they wrote)."""
    shown = tickets.after(record.record_id, record.data, record.version)
    uow.publish(caller.event("ticket.updated", TicketUpdated(id=record.record_id, ticket=shown, changed=changed)))


def _erase_ticket(caller: Caller, ticket_id: str, contact_id: str) -> int:
    """Erase the person from one ticket and its articles; the articles changed (-1: nothing to do)."""
    record = caller.store.get(caller.tenant, tickets.TICKET, ticket_id)
    if record is None or record.data.get("requester_contact_id") != contact_id:
        return -1
    data = record.data
    addresses = {str(data.get("requester_email") or "").lower()} - {""}
    key = tenant_key(caller.tenant, tickets.TICKET.upper(), ticket_id, tickets.ARTICLE.upper())
    ids = [r.record_id for r in Record.by_parent.query(key)]  # listed in full first: erasing keeps them listed
    changed = sum(bool(run_with_retries(partial(_erase_article, caller, i, addresses))) for i in ids)

    def finish() -> None:
        fresh = caller.store.get(caller.tenant, tickets.TICKET, ticket_id)
        if fresh is None or fresh.data.get("requester_contact_id") != contact_id:
            return
        after = dict(fresh.data)
        after |= {"requester_contact_id": None, "requester_email": "", "subject": ERASED}
        after["participants"] = [p for p in after.get("participants") or [] if str(p).lower() not in addresses]
        after["erased_at"] = clock.iso(clock.now())
        fresh.data = after
        tickets.index(fresh, caller.tenant)
        uow = UnitOfWork()
        caller.store.replace(uow, fresh, after)
        _stage_updated(uow, caller, fresh, ["articles", "requester_contact_id", "requester_email", "subject"])
        uow.commit()

    run_with_retries(finish)
    return changed


def _erase_participant(caller: Caller, ticket_id: str, addresses: set[str]) -> int:
    """Erase the person's addresses from a ticket they only take part in and from its articles."""
    key = tenant_key(caller.tenant, tickets.TICKET.upper(), ticket_id, tickets.ARTICLE.upper())
    ids = [r.record_id for r in Record.by_parent.query(key)]
    changed = sum(bool(run_with_retries(partial(_erase_article, caller, i, addresses, False))) for i in ids)

    def finish() -> None:
        fresh = caller.store.get(caller.tenant, tickets.TICKET, ticket_id)
        held = list((fresh.data if fresh else {}).get("participants") or [])
        kept = [p for p in held if str(p).lower() not in addresses]
        if fresh is None or (kept == held and not changed):
            return
        after = fresh.data | {"participants": kept, "erased_at": clock.iso(clock.now())}
        uow = UnitOfWork()
        caller.store.replace(uow, fresh, after)
        _stage_updated(uow, caller, fresh, ["articles"])
        uow.commit()

    run_with_retries(finish)
    return changed


def _contact_address(caller: Caller, contact_id: str) -> str:
    """The projection's address of the contact (before the row is buried)."""
    row = caller.store.get(caller.tenant, RECIPIENT, contact_id)
    return str(((row.data if row else {}).get("contact") or {}).get("email") or "").strip().lower()


def erase_contact(caller: Caller, contact_id: str, known: frozenset[str] = frozenset()) -> dict[str, int]:
    requested = [r for r in caller.store.of_contact(caller.tenant, contact_id, tickets.TICKET)]
    addresses = set(known) | {str(r.data.get("requester_email") or "").lower() for r in requested} - {""}
    results = [_erase_ticket(caller, r.record_id, contact_id) for r in requested]
    for address in sorted(addresses):
        for item in threads.tickets_of_participant(caller.tenant, address):
            results.append(_erase_participant(caller, str(item.ticket_id), addresses))
            item.delete()
    return {"tickets": sum(r >= 0 for r in results), "articles": sum(max(r, 0) for r in results)}


@subscribe("contact.erased")
def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    """Tickets forget the person, each in writes of their own (the event's unit of work takes only
    the dedupe marker, with the projection's tombstone)."""
    contact_id = ContactErased.model_validate(envelope.data).id
    caller = service_caller(envelope.tenant_id)
    erased = erase_contact(caller, contact_id, frozenset({_contact_address(caller, contact_id)} - {""}))
    recipients.PROJECTION.bury(envelope.tenant_id, contact_id, "erased")  # no later mail links to the contact
    logger.info("contact erased from tickets", extra={"contact_id": contact_id, **erased})
