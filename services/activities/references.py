"""Honest references: the contact and account an activity names are the tenant's, and belong together.

Checked against this service's own copy of the directory, not by asking it: the call list's rows
(`cl_contact`, `cl_account`, call_list/index.py), written from the directory's `contact.*` and
`account.*` events, each keeping the highest record version it has seen, a deleted or erased
record as a tombstone. A row the directory has announced holds its record (`announced`); a row
written by an activity before the announcement holds only the latest event's time.

Lag: the projection follows the directory by a few seconds (events through the bus), so a contact
created just now may not be there yet. Ids are ULIDs that carry their creation time: an id the
projection does not know is accepted while its time is within `LAG` of now (a contact created in
the last minutes whose event is still on its way), and refused as `not_found` once older. A
tombstone is refused at once. The belonging of a contact to an account is checked only when the
contact is known (a just-created contact's account is not known yet). docs/decisions.md says why.

Merged records: a write naming a contact or account the directory merged into another is taken
as naming the survivor (`resolved`, `survivors`: the markers of merges.py), so old links keep
working and no new reference to a merged id is made.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ulid import ULID

from services.activities.service import Caller
from shared import clock
from shared.errors import FieldError, ValidationFailed
from shared.merges import marker_kind, resolve

LAG = timedelta(minutes=15)  # how long an unknown, newly made id is taken on trust
_SKEW = timedelta(minutes=1)  # a client's or the directory's clock a little ahead of ours


def recent(record_id: str) -> bool:
    """Whether the id is a ULID made within `LAG` of now (the directory's ids are ULIDs)."""
    try:
        made = ULID.from_str(record_id).datetime
    except ValueError:
        return False
    now = clock.now()
    return now - LAG <= made <= now + _SKEW


def _state(row: Any) -> str:
    data = row.data if row is not None else {}
    if data.get("gone"):
        return "gone"
    return "known" if data.get("announced") else "unknown"


def check(caller: Caller, contact_id: str | None, account_id: str | None, *, sent: set[str] | None = None) -> None:
    """422 naming `contact_id` / `account_id` unless the references are honest (see the module).

    `sent`: the fields the client sent (a PATCH); a field not sent is not checked on its own, but
    the pair is whenever either is sent. One BatchGetItem.
    """
    # imported here: a request that checks no reference (a read) loads no call list (its conditions: ~12 ms)
    from services.activities.call_list.rows import ROW_KINDS

    sent = {"contact_id", "account_id"} if sent is None else sent
    wanted = [(ROW_KINDS["contact"], contact_id)] if contact_id else []
    wanted += [(ROW_KINDS["account"], account_id)] if account_id else []
    if not wanted or not sent & {"contact_id", "account_id"}:
        return
    rows = caller.store.get_each(caller.tenant, wanted)
    errors: list[FieldError] = []
    contact = rows.get((ROW_KINDS["contact"], contact_id)) if contact_id else None
    for name, record_id, row in (
        ("contact_id", contact_id, contact),
        ("account_id", account_id, rows.get((ROW_KINDS["account"], account_id)) if account_id else None),
    ):
        if record_id is None or name not in sent:
            continue
        state = _state(row)
        if state == "gone" or (state == "unknown" and not recent(record_id)):
            what = name.removesuffix("_id")
            errors.append(FieldError(field=name, message=f"no {what} {record_id} in the tenant", code="not_found"))
    if contact_id and not errors and _state(contact) == "known":
        belongs_to = ((contact.data if contact else {}).get("record") or {}).get("account_id")
        if account_id is not None and belongs_to != account_id:
            message = f"contact {contact_id} does not belong to account {account_id}"
            errors.append(FieldError(field="account_id", message=message, code="not_of_contact"))
    if errors:
        raise ValidationFailed("The activity names a contact or account that is not valid.", errors)


def resolved(caller: Caller, contact_id: str | None, account_id: str | None) -> tuple[str | None, str | None]:
    """The contact and account to reference: each merged one's survivor, else itself (one BatchGetItem
    for the markers; a chain of merges is followed only for an id that was merged)."""
    wanted = [(marker_kind("contact"), contact_id)] if contact_id else []
    wanted += [(marker_kind("account"), account_id)] if account_id else []
    if not wanted:
        return contact_id, account_id
    found = caller.store.get_each(caller.tenant, wanted)
    if (marker_kind("contact"), contact_id) in found and contact_id:
        contact_id = resolve(caller.store, caller.tenant, "contact", contact_id)
    if (marker_kind("account"), account_id) in found and account_id:
        account_id = resolve(caller.store, caller.tenant, "account", account_id)
    return contact_id, account_id


def survivors(caller: Caller, entity: str, ids: list[str]) -> dict[str, str]:
    """merged id -> its survivor, for those of `ids` that were merged (a BatchGetItem per 100 ids)."""
    unique = list(dict.fromkeys(ids))
    merged: list[str] = []
    for start in range(0, len(unique), 100):
        merged += caller.store.get_many(caller.tenant, marker_kind(entity), unique[start : start + 100])
    return {i: resolve(caller.store, caller.tenant, entity, i) for i in merged}
