"""List types (opt-out lists) and the opt-outs of recipients from them.

Records:
- kind "list_type", id = a new id (the defaults: "marketing", "service-notices"), data {name, description, ...};
- kind "optout", id = derived_id(normalised address, list_type_id), data {address, list_type_id,
  contact_id?, at, source}; its absence means subscribed. Listed per list type in `by_parent`
  (gsi3): `T#<t>#LIST_TYPE#<list type>#OPTOUT` / `<address>`;
- kind "suppression", id = derived_id(normalised address): hard bounces and complaints (every list type).

An opt-out through a mail's own link (its token names the message) also stamps `unsubscribed_at`
on that message, once, and counts {"unsubscribed": 1} for its campaign in the same transaction.

The defaults of a new tenant are installed once (setting "list_types" remembers which), so a
default that an admin deletes stays deleted. Every write commits with its event: a list type's
`email_list_type.*` (the defaults' by the system), an opt-out's `email.unsubscribed` or
`email.resubscribed`.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

from services.email import stats
from services.email.domain.list_types import (
    OPTOUT,
    SUPPRESSION,
    ListType,
    ListTypeCreate,
    ListTypePatch,
    OptOut,
    default_list_types,
    normalised,
    optout_id,
    suppression_id,
)
from services.email.events import EmailResubscribed, EmailUnsubscribed, ListTypeChanged
from services.email.service import Caller, register_default
from services.email.store import TERMS, Record
from shared import clock, merges
from shared.errors import NotFound
from shared.events import SYSTEM, changes_of, new_event
from shared.ids import new_id
from shared.lookup import TOP, Order, find, plan
from shared.pagination import Page
from shared.recipients import RECIPIENT
from shared.service import commit, model_of, partition_page, patch_changes
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork, tenant_key

LIST_TYPE = "list_type"
SETTING = "list_types"
MESSAGE = "message"  # services.email.transactional.KIND (not imported: it imports more of the service)
CHANGEABLE = ("name", "description")  # what its events' `changes` show

register_default(SETTING, lambda: {"installed": []})


def _install_defaults(caller: Caller) -> None:
    """Create the default list types a tenant has not had yet."""
    installed = set(caller.setting(SETTING).get("installed", []))
    missing = [d for d in default_list_types() if d[0] not in installed]
    if not missing:
        return
    at = clock.now().isoformat()
    uow = UnitOfWork()
    for list_type_id, name, description in missing:
        data = {"name": name, "description": description, "created_at": at, "updated_at": at}
        record = caller.store.new(caller.tenant, LIST_TYPE, list_type_id, data)
        caller.store.add(uow, record, on_conflict=AlreadyApplied)
        uow.publish(new_event("email_list_type.created", caller.tenant, _changed(record), actor=SYSTEM))
    names = sorted(installed | {d[0] for d in missing})
    setting = caller.setting_record(SETTING)
    setting.data = {"installed": names}
    uow.save(setting)
    with suppress(AlreadyApplied, ConcurrentUpdate):  # a concurrent request installed them
        uow.commit()
    caller.forget_setting(SETTING)


def _changed(record: Record) -> ListTypeChanged:
    return ListTypeChanged(id=record.record_id, name=record.data["name"])


def _record(caller: Caller, list_type_id: str) -> Record:
    _install_defaults(caller)
    record = caller.store.get(caller.tenant, LIST_TYPE, list_type_id)
    if record is None:
        raise NotFound(f"No list type {list_type_id}.")
    return record


def list_types(
    caller: Caller,
    cursor: str | None,
    limit: int,
    name: str | None,
    sort: str | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[ListType]:
    """The list types; `name`: those whose name starts so, in name order; with `updated_since`,
    the kernel's sync page (no filter, sort or order)."""
    _install_defaults(caller)
    query = plan({"name": name}, sort, order, prefixes={"name": "name"}, updated_since=updated_since)
    return find(caller, LIST_TYPE, TERMS[LIST_TYPE], ListType, cursor, limit, query)


def get_list_type(caller: Caller, list_type_id: str) -> ListType:
    return model_of(_record(caller, list_type_id), ListType)


def create_list_type(caller: Caller, body: ListTypeCreate) -> ListType:
    caller.require_manager()
    _install_defaults(caller)
    at = clock.now().isoformat()
    record = caller.store.new(
        caller.tenant, LIST_TYPE, new_id(), {**body.model_dump(), "created_at": at, "updated_at": at}
    )
    uow = UnitOfWork()
    caller.store.add(uow, record)
    uow.publish(caller.event("email_list_type.created", _changed(record)))
    uow.commit()
    return model_of(record, ListType)


def change_list_type(caller: Caller, list_type_id: str, body: ListTypePatch) -> ListType:
    caller.require_manager()

    def command() -> ListType:
        record = _record(caller, list_type_id)
        changes = body.model_dump(exclude_unset=True)
        if not patch_changes(record.data, changes):
            return model_of(record, ListType)
        before = dict(record.data)
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, **changes, "updated_at": clock.now().isoformat()})
        audited = changes_of(before, record.data, CHANGEABLE)
        uow.publish(caller.event("email_list_type.updated", _changed(record), changes=audited))
        uow.commit()
        return model_of(record, ListType)

    return commit(command)


def delete_list_type(caller: Caller, list_type_id: str) -> None:
    """Remove a list type; its opt-outs stay (a list type made again later gets a new id)."""
    caller.require_manager()
    record = _record(caller, list_type_id)
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    uow.publish(caller.event("email_list_type.deleted", _changed(record)))
    uow.commit()


# ----------------------------------------------------------------------------- opt-outs


def is_opted_out(caller: Caller, address: str, list_type_id: str) -> bool:
    """Whether the address refused mail of this list type."""
    return caller.store.get(caller.tenant, OPTOUT, optout_id(address, list_type_id)) is not None


def is_suppressed(caller: Caller, address: str) -> bool:
    """Whether mail to the address bounced hard or drew a complaint (every list type)."""
    return caller.store.get(caller.tenant, SUPPRESSION, suppression_id(address)) is not None


def opt_outs(
    caller: Caller, list_type_id: str, cursor: str | None, limit: int, address: str | None = None
) -> Page[OptOut]:
    """A list type's opt-outs in address order; `address`: those whose address starts so (the
    opt-outs' address keys serve it)."""
    _record(caller, list_type_id)
    key = tenant_key(caller.tenant, "LIST_TYPE", list_type_id, "OPTOUT")
    start = normalised(address) if address else None
    return partition_page(
        caller, f"optouts:{list_type_id}:{start}", cursor, limit, Record.by_parent, key, Record.gsi3sk, OptOut,
        lower=start, upper=start + TOP if start else None,
    )  # fmt: skip


def opt_out(
    caller: Caller,
    address: str,
    list_type_id: str,
    contact_id: str | None,
    source: str,
    message_id: str | None = None,
) -> bool:
    """Record the refusal and publish `email.unsubscribed` with it; False if it was already there.

    `message_id`: the mail whose link the recipient used; it is stamped `unsubscribed_at` once
    (even when the opt-out was already there) and counted for its campaign. A merged contact's
    refusal (a link in a mail from before the merge) names the survivor and holds for the
    survivor's address as well (services/email/merges.py: the strictest consent wins).
    """
    _record(caller, list_type_id)
    address = normalised(address)
    survivor = merges.resolve(caller.store, caller.tenant, "contact", contact_id) if contact_id else None
    done = _opt_out_retried(caller, address, list_type_id, survivor, source, message_id)
    if survivor != contact_id:  # a merged contact's (an old link): it holds for the survivor's address too
        row = caller.store.get(caller.tenant, RECIPIENT, str(survivor))
        current = normalised(str(((row.data.get("contact") or {}).get("email") if row else None) or ""))
        if current and current != address:
            _opt_out_retried(caller, current, list_type_id, survivor, source, None)
    return done


def _opt_out_retried(
    caller: Caller, address: str, list_type_id: str, contact_id: str | None, source: str, message_id: str | None
) -> bool:
    for _ in range(5):
        try:
            return _opt_out_once(caller, address, list_type_id, contact_id, source, message_id)
        except ConcurrentUpdate:  # the message changed meanwhile (a report, the sender): read it again
            continue
    raise ConcurrentUpdate()


def _opt_out_once(
    caller: Caller, address: str, list_type_id: str, contact_id: str | None, source: str, message_id: str | None
) -> bool:
    at = clock.now()
    data = {"address": address, "list_type_id": list_type_id, "contact_id": contact_id, "at": at.isoformat()}
    record = caller.store.new(caller.tenant, OPTOUT, optout_id(address, list_type_id), {**data, "source": source})
    record.gsi3pk = tenant_key(caller.tenant, "LIST_TYPE", list_type_id, "OPTOUT")
    record.gsi3sk = address
    uow = UnitOfWork()
    uow.save(record, condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)
    stamped = _stage_unsubscribed(caller, uow, message_id, address, list_type_id, at.isoformat())
    payload = EmailUnsubscribed(
        contact_id=contact_id,
        address=address,
        list_type_id=list_type_id,
        at=at,
        message_id=stamped.record_id if stamped is not None else None,
        campaign_id=stamped.data.get("campaign_id") if stamped is not None else None,
    )
    uow.publish(caller.event("email.unsubscribed", payload))
    try:
        uow.commit()
    except AlreadyApplied:
        if stamped is not None:  # opted out before (by phone, another mail): this mail's unsubscribe still counts
            own = UnitOfWork()
            if _stage_unsubscribed(caller, own, message_id, address, list_type_id, at.isoformat()) is not None:
                own.commit()
        return False
    return True


def _stage_unsubscribed(
    caller: Caller, uow: UnitOfWork, message_id: str | None, address: str, list_type_id: str, at: str
) -> Record | None:
    """Stamp the recipient's mail (the first time) and count it for its campaign; the mail, or None."""
    message = caller.store.get(caller.tenant, MESSAGE, message_id) if message_id else None
    if message is None or message.data.get("unsubscribed_at"):
        return None
    if normalised(str(message.data.get("to") or "")) != address or message.data.get("list_type_id") != list_type_id:
        return None  # a token naming another recipient's mail: the opt-out stands, the mail is not touched
    caller.store.replace(uow, message, {**message.data, "unsubscribed_at": at})
    campaign_id = message.data.get("campaign_id")
    if campaign_id:
        stats.stage_counts(uow, caller.tenant, str(campaign_id), message.record_id, {"unsubscribed": 1})
    return message


def opt_in(caller: Caller, address: str, list_type_id: str) -> bool:
    """Remove the refusal (the recipient subscribed again) and publish `email.resubscribed` with
    it; False if there was none."""
    _record(caller, list_type_id)
    record = caller.store.get(caller.tenant, OPTOUT, optout_id(address, list_type_id))
    if record is None:
        return False
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    data = record.data
    payload = EmailResubscribed(
        contact_id=data.get("contact_id"), address=data["address"], list_type_id=list_type_id, at=clock.now()
    )
    uow.publish(caller.event("email.resubscribed", payload))
    with suppress(ConcurrentUpdate):  # removed at the same moment by another request
        uow.commit()
    return True


def add_opt_out(caller: Caller, list_type_id: str, address: str, contact_id: str | None) -> OptOut:
    """A user records a recipient's refusal (told by phone, say)."""
    caller.require_manager()
    opt_out(caller, address, list_type_id, contact_id, f"user:{caller.user_id}")
    record = caller.store.get(caller.tenant, OPTOUT, optout_id(address, list_type_id))
    if record is None:
        raise NotFound("The opt-out was removed at the same moment.")
    return model_of(record, OptOut)


def remove_opt_out(caller: Caller, list_type_id: str, address: str) -> None:
    caller.require_manager()
    if not opt_in(caller, address, list_type_id):
        raise NotFound(f"{normalised(address)} has not opted out of {list_type_id}.")
