"""Merged contacts and accounts in the SMS service (`contact.merged`, `account.merged`).

The directory merged records into a survivor (`shared/merges.py`: the kernel's steps). For a
contact merge, in this order, each step safe to repeat after a crash or a second delivery:

1. The markers (`mark_merged`): from then on the merged ids resolve to the survivor.
2. Each message sent (or to be sent) to a merged contact and each reply from one moves to the
   survivor's history, one transaction a record (`contact_id` and its `by_contact` key). A message
   not sent yet still goes, once, to the number it was written for.
3. Consent, the strictest wins: an opt-out is kept per number (id = E.164), so every opt-out held
   by a number of a merged contact, or by the survivor's numbers before the merge, is written
   again for each of the survivor's numbers after it (`record`'s mobile and phone, read with the
   tenant's default country). The numbers are the contacts' own as their rows hold them. An
   opt-out that names a merged contact names the survivor afterwards.
4. The merged contacts' rows become tombstones (they leave the number index, and a late
   `contact.updated` of theirs revives nothing), and the survivor's row takes `record` when its
   version is newer. Last: until then a redelivery still reads every number from the rows.

An account merge drops the merged accounts' rows and refreshes the survivor's.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial

from services.sms.domain.messages import KIND as MESSAGE
from services.sms.domain.messages import OPT_OUT
from services.sms.domain.numbers import read_number
from services.sms.inbound import INBOUND
from services.sms.recipients import PROJECTION
from services.sms.service import Caller, service_caller
from services.sms.setup import setup
from services.sms.subscriptions import subscribe
from shared import merges
from shared.contracts.directory import RecordMerged
from shared.events import Envelope
from shared.observability import logger
from shared.recipients import RECIPIENT
from shared.store import AlreadyApplied, UnitOfWork, tenant_key

NUMBER_FIELDS = ("mobile", "phone")


# ----------------------------------------------------------------------------- consent


def _numbers(contact: dict[str, object], country: str) -> set[str]:
    found = set()
    for field in NUMBER_FIELDS:
        raw = str(contact.get(field) or "").strip()
        e164 = read_number(raw, country).e164 if raw else None
        if e164:
            found.add(e164)
    return found


def _row_numbers(caller: Caller, contact_id: str, country: str) -> set[str]:
    row = caller.store.get(caller.tenant, RECIPIENT, contact_id)
    return _numbers((row.data.get("contact") or {}) if row else {}, country)


def _add_once(caller: Caller, number: str, data: dict[str, object]) -> None:
    record = caller.store.new(caller.tenant, OPT_OUT, number, data)
    record.gsi1sk = f"{data['opted_out_at']}#{number}"
    uow = UnitOfWork()
    caller.store.add(uow, record, on_conflict=AlreadyApplied)
    with suppress(AlreadyApplied):  # the number has opted out already
        uow.commit()


def keep_consent(caller: Caller, merge: RecordMerged, survivor: str) -> int:
    """Write every opt-out of the merged contacts' numbers (and the survivor's numbers before the
    merge) for each of the survivor's numbers; returns how many numbers had opted out."""
    country = setup(caller).default_country
    sources: set[str] = set()
    for merged_id in merge.merged_ids:
        sources |= _row_numbers(caller, merged_id, country)
    before = _row_numbers(caller, survivor, country)
    # `record` is the survivor's unless a later merge took it in too (a chain): then its row is the survivor's
    targets = (_numbers(merge.record, country) if survivor == merge.id else set()) or before
    numbers = sorted(sources | before)
    held = {}
    for start in range(0, len(numbers), 100):
        held.update(caller.store.get_many(caller.tenant, OPT_OUT, numbers[start : start + 100]))
    merged = set(merge.merged_ids)
    for number, opt_out in sorted(held.items()):
        if opt_out.data.get("contact_id") in merged:
            merges.repoint(caller.store, caller.tenant, OPT_OUT, number, "contact_id", merged, survivor)
        for target in sorted(targets - {number}):
            data = {**opt_out.data, "number": target, "contact_id": survivor, "merged_from": number}
            _add_once(caller, target, {**data, "merge_id": merge.merge_id})
    return len(held)


# ----------------------------------------------------------------------------- history


def _move(caller: Caller, kind: str, merged_ids: set[str], survivor: str, record_id: str) -> bool:
    record = caller.store.get(caller.tenant, kind, record_id)
    if record is None or record.data.get("contact_id") not in merged_ids or record.gsi2pk is None:
        return False
    record.gsi2pk = tenant_key(caller.tenant, "CONTACT", survivor, kind.upper())  # its sort key stays
    uow = UnitOfWork()
    caller.store.replace(uow, record, {**record.data, "contact_id": survivor})
    uow.commit()
    return True


def move_history(caller: Caller, merge: RecordMerged, survivor: str) -> dict[str, int]:
    merged = set(merge.merged_ids) - {survivor}
    moved = {}
    for kind in (MESSAGE, INBOUND):
        moved[kind] = 0
        for merged_id in sorted(merged):
            ids = [r.record_id for r in caller.store.of_contact(caller.tenant, merged_id, kind)]
            moved[kind] += merges.move_each(ids, partial(_move, caller, kind, merged, survivor))
    return moved


# ----------------------------------------------------------------------------- subscriptions


@subscribe("contact.merged")
def on_contact_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    """Works in its own transactions (a marker, an opt-out, a record each): the event's unit of
    work only takes the dedupe marker."""
    entity, merge = merges.merge_of(envelope)
    caller = service_caller(envelope.tenant_id)
    merges.mark_merged(caller.store, caller.tenant, entity, merge)
    survivor = merges.resolve(caller.store, caller.tenant, entity, merge.id)
    moved = move_history(caller, merge, survivor)
    held = keep_consent(caller, merge, survivor)
    PROJECTION.contacts_merged(caller.tenant, merge.id, merge.merged_ids, merge.record)
    counts = {"messages": moved[MESSAGE], "replies": moved[INBOUND], "opt_outs": held}
    logger.info("contacts merged in SMS", extra={"merge_id": merge.merge_id, **counts})


@subscribe("account.merged")
def on_account_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    entity, merge = merges.merge_of(envelope)
    caller = service_caller(envelope.tenant_id)
    merges.mark_merged(caller.store, caller.tenant, entity, merge)
    PROJECTION.accounts_merged(caller.tenant, merge.id, merge.merged_ids, merge.record)
