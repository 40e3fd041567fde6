"""Threading (issue 21 item 5): which ticket an inbound mail answers, if any.

A reply lands on its ticket
- by a Message-ID the ticket knows (any of its articles', ours among them once replies are sent)
  in the mail's In-Reply-To or References, the nearest first: `ThreadItem`s
  `T#<t>#MESSAGE#<sha256 of the id>` written with each article;
- else by the ticket tag in the subject (`[#TCK-1234]`, the tenant's ticket number) when the
  sender is a participant of that ticket (its requester, or an address of its articles' From, To
  or Cc): a stranger cannot add to someone else's ticket by guessing its number;
otherwise it opens a new ticket. A solved or closed ticket reopens on a person's reply, not on
automatic mail (an auto-reply, a bounce: `domain/automatic.py`).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from services.scanner.service import Caller
from services.scanner.store import Record, ThreadItem
from shared.store import UnitOfWork, tenant_key

if TYPE_CHECKING:  # the MIME parser (charset detection, reply parsing: ~30 ms) loads with the inbound mail only
    from services.scanner.domain.mime import ParsedMessage

TAG = re.compile(r"\[#TCK-(\d{1,12})\]", re.IGNORECASE)
MAX_PARTICIPANTS = 100


def tag(number: int) -> str:
    """The ticket's tag, as a subject carries it."""
    return f"[#TCK-{number}]"


def _message_key(tenant: str, message_id: str) -> str:
    digest = hashlib.sha256(message_id.strip().lower().encode()).hexdigest()[:40]
    return tenant_key(tenant, "MESSAGE", digest)


def _number_key(tenant: str, number: int) -> str:
    return tenant_key(tenant, "TICKET_NUMBER", str(number))


def stage_message(uow: UnitOfWork, tenant: str, message_id: str | None, ticket_id: str) -> None:
    """Remember that a Message-ID belongs to a ticket (a reply naming it lands there)."""
    if message_id:
        uow.save(ThreadItem(pk=_message_key(tenant, message_id), sk="MESSAGE", kind="thread", ticket_id=ticket_id))


def stage_number(uow: UnitOfWork, tenant: str, number: int, ticket_id: str) -> None:
    item = ThreadItem(pk=_number_key(tenant, number), sk="TICKET_NUMBER", kind="thread", ticket_id=ticket_id)
    uow.save(item, condition=ThreadItem.pk.does_not_exist())


def _ticket_of(pk: str, sk: str) -> str | None:
    try:
        return str(ThreadItem.get(pk, sk, consistent_read=True).ticket_id)
    except ThreadItem.DoesNotExist:
        return None


def find(caller: Caller, parsed: ParsedMessage, bounced: str | None = None) -> Record | None:
    """The ticket the mail answers, or None (a new ticket). `bounced`: the Message-ID a delivery
    status report names (the mail it answers), tried first."""
    tenant = caller.tenant
    named = [*([bounced] if bounced else []), *parsed.in_reply_to, *reversed(parsed.references)]
    for message_id in dict.fromkeys(named):
        ticket_id = _ticket_of(_message_key(tenant, message_id), "MESSAGE")
        record = caller.store.get(tenant, "ticket", ticket_id) if ticket_id else None
        if record is not None:
            return record
    sender = parsed.from_address
    for number in dict.fromkeys(int(n) for n in TAG.findall(parsed.subject)):
        ticket_id = _ticket_of(_number_key(tenant, number), "TICKET_NUMBER")
        record = caller.store.get(tenant, "ticket", ticket_id) if ticket_id else None
        if record is not None and sender and sender in participants(record.data):
            return record
    return None


def participant_key(tenant: str, address: str) -> str:
    """Where the tickets an address takes part in are listed (erasure.py reaches them by it)."""
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:40]
    return tenant_key(tenant, "PARTICIPANT", digest)


def index_participants(tenant: str, ticket_id: str, before: list[str], after: list[str]) -> None:
    """List the ticket under each address `after` adds to `before` (`T#<t>#PARTICIPANT#<digest>` /
    the ticket id). Written before the transaction that adds them, each put on its own (a first
    mail's participants may be more than a transaction holds): an item naming a ticket that its
    transaction then did not make points nowhere, a listed one is never missed by erasure."""
    added = [a for a in dict.fromkeys(after) if a and a not in set(before)]
    if not added:
        return
    with ThreadItem.batch_write() as batch:
        for address in added:
            batch.save(
                ThreadItem(pk=participant_key(tenant, address), sk=ticket_id, kind="participant", ticket_id=ticket_id)
            )


def tickets_of_participant(tenant: str, address: str) -> list[ThreadItem]:
    return list(ThreadItem.query(participant_key(tenant, address), consistent_read=True))


def participants(ticket: dict[str, Any]) -> set[str]:
    found = ticket.get("participants") or []
    return {str(a).lower() for a in found if a} | {str(ticket.get("requester_email") or "").lower()} - {""}


def with_participants(current: list[str], addresses: list[str], own: str) -> list[str]:
    """The ticket's participants with a mail's addresses added (never the mailbox's own)."""
    known = dict.fromkeys(a.lower() for a in current)
    for address in addresses:
        clean = address.strip().lower()
        if clean and "@" in clean and clean != own.lower():
            known.setdefault(clean, None)
    return list(known)[:MAX_PARTICIPANTS]
