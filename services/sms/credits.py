"""SMS credits (domain/credits.py): the balance, admins' top-ups and the ledger; reservations,
charges and refunds staged in the transactions of the sends that cause them.

The balance is one item per tenant (store.BalanceItem). A reservation is an UpdateItem that
subtracts from `available` only if `available` still covers it, inside the send's own
transaction: many sends at once can never take the balance below zero, and a send the balance
does not cover commits nothing (a 402, `insufficient_credits`). Every change writes a ledger
record (kind `ledger_entry`, a time-ordered id) in the same transaction.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

from services.sms.domain.credits import SmsBalance, SmsEntryType, SmsLedgerEntry, SmsTopUp
from services.sms.events import SmsCreditsToppedUp
from services.sms.service import Caller
from services.sms.store import BalanceItem
from shared import clock
from shared.errors import NotFound, PaymentRequired
from shared.ids import new_id
from shared.pagination import Page
from shared.service import kind_page, model_of
from shared.store import UnitOfWork

ENTRY = "ledger_entry"


def balance(caller: Caller) -> SmsBalance:
    item = BalanceItem.of(caller.tenant)  # all zero until the first top-up
    with suppress(BalanceItem.DoesNotExist):
        item = BalanceItem.get(item.pk, item.sk, consistent_read=True)
    return SmsBalance(available=int(item.available), reserved=int(item.reserved), charged=int(item.charged))


def top_up(caller: Caller, body: SmsTopUp) -> SmsLedgerEntry:
    caller.require_admin()
    uow = UnitOfWork()
    item = BalanceItem.of(caller.tenant)
    uow.update(item, [BalanceItem.available.add(body.credits), BalanceItem.kind.set(item.kind)])
    entry = _entry(caller, uow, SmsEntryType.top_up, body.credits, note=body.note)
    topped_up = SmsCreditsToppedUp(id=entry.id, credits=body.credits, note=body.note or None)
    uow.publish(caller.event("sms_credits.topped_up", topped_up))
    uow.commit()
    return entry


def reserve(caller: Caller, uow: UnitOfWork, credits: int, send_id: str | None, message_id: str | None = None) -> None:
    """Hold `credits` for a send (or one message) in `uow`: it commits only while the balance covers them."""
    item = BalanceItem.of(caller.tenant)
    actions = [BalanceItem.available.add(-credits), BalanceItem.reserved.add(credits), BalanceItem.kind.set(item.kind)]
    uow.update(item, actions, condition=BalanceItem.available >= credits, on_conflict=lambda: _short(credits))
    _entry(caller, uow, SmsEntryType.reservation, credits, send_id=send_id, message_id=message_id)


def charge(caller: Caller, uow: UnitOfWork, credits: int, send_id: str | None, message_id: str) -> None:
    """The provider accepted a message: its parts move from reserved to charged."""
    item = BalanceItem.of(caller.tenant)
    uow.add_to(item, reserved=-credits, charged=credits)  # summed per tenant in a batch (shared/batched.py)
    _entry(caller, uow, SmsEntryType.charge, credits, send_id=send_id, message_id=message_id)


def refund(caller: Caller, uow: UnitOfWork, credits: int, send_id: str | None, message_id: str | None = None) -> None:
    """A reserved message failed or was not sent: its parts go back to available."""
    item = BalanceItem.of(caller.tenant)
    uow.add_to(item, reserved=-credits, available=credits)
    _entry(caller, uow, SmsEntryType.refund, credits, send_id=send_id, message_id=message_id)


def list_entries(
    caller: Caller, cursor: str | None, limit: int, updated_since: datetime | None = None
) -> Page[SmsLedgerEntry]:
    caller.require_admin()
    return kind_page(caller, ENTRY, cursor, limit, SmsLedgerEntry, updated_since)


def get_entry(caller: Caller, entry_id: str) -> SmsLedgerEntry:
    caller.require_admin()
    record = caller.store.get(caller.tenant, ENTRY, entry_id)
    if record is None:
        raise NotFound(f"No ledger entry {entry_id}.")
    return model_of(record, SmsLedgerEntry)


def _entry(caller: Caller, uow: UnitOfWork, kind: SmsEntryType, credits: int, **fields: str | None) -> SmsLedgerEntry:
    data = {
        "type": kind.value,
        "credits": credits,
        **{name: value for name, value in fields.items() if value},
        "created_by": caller.user_id,
        "created_at": clock.now().isoformat(),
    }
    record = caller.store.new(caller.tenant, ENTRY, new_id(), data)
    caller.store.add(uow, record)
    return model_of(record, SmsLedgerEntry)


def _short(credits: int) -> PaymentRequired:
    return PaymentRequired(f"The SMS balance does not cover the {credits} credits this send needs; nothing was sent.")
