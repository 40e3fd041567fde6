"""Merged contacts and accounts in the email service (`contact.merged`, `account.merged`).

The directory merged records into a survivor (`shared/merges.py`: the kernel's steps). For a
contact merge, in this order, each step safe to repeat after a crash or a second delivery:

1. The markers (`mark_merged`): from then on the merged ids resolve to the survivor.
2. Each mail sent (or to be sent) to a merged contact moves to the survivor's history, one
   transaction a mail (`contact_id` and its `by_contact` key).
3. Consent, the strictest wins: every opt-out (per list type) and suppression held by the address
   of a merged contact, or by the survivor's address before the merge, is written again for the
   survivor's address after it (`record`'s email): opt-outs and suppressions are keyed by the
   address a mail goes to, and the survivor is mailed at its own. The addresses are the contacts'
   own as their rows hold them (an address a contact no longer has holds nothing for it today
   either). An opt-out that names a merged contact names the survivor afterwards.
4. The merged contacts' rows become tombstones (a late `contact.updated` of theirs revives
   nothing), and the survivor's row takes `record` when its version is newer. Last: until then a
   redelivery still reads every address from the rows.

An account merge drops the merged accounts' rows and refreshes the survivor's; a mail's
`account_id` is the account at send time and is not moved (nothing lists mails by account).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

from services.email.domain.list_types import normalised
from services.email.list_types import LIST_TYPE, OPTOUT, SUPPRESSION, optout_id
from services.email.recipients import PROJECTION
from services.email.service import Caller, service_caller
from services.email.store import Record
from services.email.subscriptions import subscribe
from services.email.transactional import KIND as MESSAGE
from services.email.transactional import contact_key
from shared import merges
from shared.contracts.directory import RecordMerged
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.recipients import RECIPIENT
from shared.store import AlreadyApplied, UnitOfWork, tenant_key

PAGE_SIZE = 100


# ----------------------------------------------------------------------------- consent


def _row_address(caller: Caller, contact_id: str) -> str | None:
    row = caller.store.get(caller.tenant, RECIPIENT, contact_id)
    email = ((row.data.get("contact") or {}).get("email") if row else None) or ""
    return normalised(str(email)) or None


def _known(address: str | None) -> set[str]:
    return {address} if address else set()


def _list_type_ids(caller: Caller) -> list[str]:
    return [r.record_id for r in Record.by_type.query(tenant_key(caller.tenant, LIST_TYPE.upper()))]


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), 100):
        yield ids[start : start + 100]


def _found(caller: Caller, kind: str, ids: list[str]) -> list[Record]:
    return [r for chunk in _chunks(ids) for r in caller.store.get_many(caller.tenant, kind, chunk).values()]


def _add_once(caller: Caller, record: Record) -> None:
    uow = UnitOfWork()
    caller.store.add(uow, record, on_conflict=AlreadyApplied)
    with suppress(AlreadyApplied):  # the survivor's address holds it already
        uow.commit()


def _opt_out_for(caller: Caller, held: Record, address: str, survivor: str, merge_id: str) -> None:
    list_type_id = str(held.data["list_type_id"])
    data = {
        **held.data,
        "address": address,
        "contact_id": survivor,
        "source": f"merge:{merge_id}",
        "merged_from": held.data.get("address"),
    }
    record = caller.store.new(caller.tenant, OPTOUT, optout_id(address, list_type_id), data)
    record.gsi3pk, record.gsi3sk = tenant_key(caller.tenant, "LIST_TYPE", list_type_id, "OPTOUT"), address
    _add_once(caller, record)


def _suppression_for(caller: Caller, held: Record, address: str, merge_id: str) -> None:
    data = {**held.data, "address": address, "merged_from": held.data.get("address"), "merge_id": merge_id}
    _add_once(caller, caller.store.new(caller.tenant, SUPPRESSION, derived_id(address), data))


def keep_consent(caller: Caller, merge: RecordMerged, survivor: str) -> int:
    """Write every opt-out and suppression of the merged contacts' addresses (and the survivor's
    address before the merge) for the survivor's address; returns how many addresses held any."""
    sources: set[str] = set()
    for merged_id in merge.merged_ids:
        sources |= _known(_row_address(caller, merged_id))
    before = _known(_row_address(caller, survivor))
    # `record` is the survivor's unless a later merge took it in too (a chain): then its row is the survivor's
    email = merge.record.get("email") if survivor == merge.id else None
    targets = {normalised(str(email))} if email else before
    sources_list = sorted(sources | before)
    list_types = _list_type_ids(caller)
    optouts = _found(caller, OPTOUT, [optout_id(a, lt) for a in sources_list for lt in list_types])
    suppressions = _found(caller, SUPPRESSION, [derived_id(a) for a in sources_list])
    merged = set(merge.merged_ids)
    for held in optouts:
        if held.data.get("contact_id") in merged:
            merges.repoint(caller.store, caller.tenant, OPTOUT, held.record_id, "contact_id", merged, survivor)
        for address in targets - {held.data.get("address")}:
            _opt_out_for(caller, held, address, survivor, merge.merge_id)
    for held in suppressions:
        for address in targets - {held.data.get("address")}:
            _suppression_for(caller, held, address, merge.merge_id)
    return len({r.data.get("address") for r in [*optouts, *suppressions]})


# ----------------------------------------------------------------------------- history


GOING = ("queued", "sending", "sent")  # a campaign mail that goes or went (not skipped, refused or failed)


def _twin(caller: Caller, record: Record, survivor: str) -> str | None:
    """For a queued campaign mail: another mail of the same campaign that goes or went to the
    survivor (its own, or a merged contact's moved before this one), else None. Read only for a
    queued campaign mail: the survivor's history, that campaign's mails."""
    campaign_id = record.data.get("campaign_id")
    if not campaign_id or record.data.get("status") != "queued":
        return None
    condition = Record.fields["campaign_id"] == campaign_id
    for other in Record.by_contact.query(contact_key(caller.tenant, survivor), filter_condition=condition):
        data = other.data
        if other.record_id != record.record_id and data.get("status") in GOING and not data.get("duplicate_of"):
            return other.record_id
    return None


def _move_message(caller: Caller, merged_ids: set[str], survivor: str, message_id: str) -> bool:
    record = caller.store.get(caller.tenant, MESSAGE, message_id)
    if record is None or record.data.get("contact_id") not in merged_ids or record.data.get("erased_at"):
        return False
    data = {**record.data, "contact_id": survivor}
    twin = _twin(caller, record, survivor)
    if twin:  # the survivor gets this campaign's mail once: the sender skips this one (sending.py)
        data["duplicate_of"] = twin
    record.gsi2pk = contact_key(caller.tenant, survivor)  # its time key stays: the history's order
    uow = UnitOfWork()
    caller.store.replace(uow, record, data)
    uow.commit()
    return True


def move_messages(caller: Caller, merge: RecordMerged, survivor: str) -> int:
    merged = set(merge.merged_ids) - {survivor}
    moved = 0
    for merged_id in sorted(merged):
        ids = [r.record_id for r in Record.by_contact.query(contact_key(caller.tenant, merged_id), page_size=PAGE_SIZE)]
        moved += merges.move_each(ids, lambda i: _move_message(caller, merged, survivor, i))
    return moved


# ----------------------------------------------------------------------------- subscriptions


@subscribe("contact.merged")
def on_contact_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    """Works in its own transactions (a marker, an opt-out, a mail each): the event's unit of work
    only takes the dedupe marker."""
    entity, merge = merges.merge_of(envelope)
    caller = service_caller(envelope.tenant_id)
    merges.mark_merged(caller.store, caller.tenant, entity, merge)
    survivor = merges.resolve(caller.store, caller.tenant, entity, merge.id)
    moved = move_messages(caller, merge, survivor)
    held = keep_consent(caller, merge, survivor)
    PROJECTION.contacts_merged(caller.tenant, merge.id, merge.merged_ids, merge.record)
    logger.info("contacts merged in email", extra={"merge_id": merge.merge_id, "messages": moved, "consent": held})


@subscribe("account.merged")
def on_account_merged(envelope: Envelope, uow: UnitOfWork) -> None:
    entity, merge = merges.merge_of(envelope)
    caller = service_caller(envelope.tenant_id)
    merges.mark_merged(caller.store, caller.tenant, entity, merge)
    PROJECTION.accounts_merged(caller.tenant, merge.id, merge.merged_ids, merge.record)
