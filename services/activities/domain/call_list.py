"""The call list's rules [000]: which accounts and contacts it shows, in which order, to whom.

Search modes: "accounts"; "contacts"; or "account_contacts", accounts limited to their contacts
(the rows are the contacts of the accounts that pass the account filters).

- Status filter empty (the default): every account except those with status "ceased"; ceased
  accounts appear only when "ceased" is asked for explicitly.
- Passive (and erased) contacts never appear. Ceasing an account does not make its contacts
  passive, so in "contacts" mode the contacts of a ceased account still appear unless a status
  filter is given; a given status filter applies to the contact's account (a contact without an
  account then does not match).
- Filters by account manager (a contact's own, else its account's), by class and by
  classification type (for a contact, a class matches when the contact or its account belongs
  to it, as in target group conditions), and by a target group's conditions (see
  `in_target_group`).
- Each row carries the latest event linked to it (the one with the greatest start); rows sort
  by that event's time or by its type, newest or oldest first. A row without any event sorts as
  the oldest (last newest-first, first oldest-first: the ones nobody has called yet).
- Access: admins and managers see every row; a user sees the rows whose owner is the user or
  one of the user's groups, or whose account manager is the user (see `visible_to`).

Everything here is pure: rows are plain dicts as the projection stores them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from shared import clock
from shared.auth import Role
from shared.conditions import Condition, Match, account_keys, contact_keys, is_contactable, matches
from shared.errors import ValidationFailed
from shared.types import INPUT, OUTPUT, CodeList, Name200, OptId, input_config

# The directory's account status code for a customer that has ceased (its default picklist).
CEASED_STATUS = "ceased"

CallListMode = Literal["accounts", "contacts", "account_contacts"]
RowKind = Literal["account", "contact"]
SortBy = Literal["latest_time", "latest_type"]
Order = Literal["desc", "asc"]

NO_EVENT = "0"  # sorts before every ISO time: a row without an event is the oldest


def row_kind(mode: CallListMode) -> RowKind:
    return "account" if mode == "accounts" else "contact"


class CallListFilter(BaseModel):
    model_config = INPUT

    mode: CallListMode = "accounts"
    statuses: CodeList = Field(default_factory=list)
    account_manager_id: OptId = None
    class_id: OptId = None
    classification_type_id: OptId = None
    target_group_id: OptId = None
    sort: SortBy = "latest_time"
    order: Order = "desc"

    def scope(self) -> str:
        """Names this exact list, so that a cursor cannot move to another filter or order."""
        return self.model_dump_json()


# ----------------------------------------------------------------------------- filters


def status_allowed(status: str | None, statuses: Collection[str]) -> bool:
    """Empty filter: anything but ceased; otherwise exactly the statuses asked for."""
    if not statuses:
        return status != CEASED_STATUS
    return status in statuses


def _classes(*records: Mapping[str, Any] | None) -> list[str]:
    return [c for record in records if record for c in record.get("classes") or []]


def _class_filters_pass(flt: CallListFilter, classes: list[str], class_types: Mapping[str, str] | None) -> bool:
    if flt.class_id and flt.class_id not in classes:
        return False
    if flt.classification_type_id:
        types = class_types or {}
        return any(types.get(c) == flt.classification_type_id for c in classes)
    return True


def account_in_call_list(
    account: Mapping[str, Any], flt: CallListFilter, class_types: Mapping[str, str] | None = None
) -> bool:
    """Whether an account passes the filters (mode "accounts", or the account step)."""
    if not status_allowed(account.get("status"), flt.statuses):
        return False
    if flt.account_manager_id and account.get("account_manager_id") != flt.account_manager_id:
        return False
    return _class_filters_pass(flt, _classes(account), class_types)


def contact_manager(contact: Mapping[str, Any], account: Mapping[str, Any] | None) -> str | None:
    """A contact's account manager: its own, else its account's."""
    return contact.get("account_manager_id") or (account or {}).get("account_manager_id")


def contact_in_call_list(
    contact: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    flt: CallListFilter,
    class_types: Mapping[str, str] | None = None,
) -> bool:
    """Whether a contact passes the filters (modes "contacts" and "account_contacts")."""
    if not is_contactable(contact):
        return False
    if flt.mode == "account_contacts":
        return account is not None and account_in_call_list(account, flt, class_types)
    if flt.statuses and (account is None or account.get("status") not in flt.statuses):
        return False
    if flt.account_manager_id and contact_manager(contact, account) != flt.account_manager_id:
        return False
    return _class_filters_pass(flt, _classes(contact, account), class_types)


class GroupRule(BaseModel):
    """The dynamic part of a target group: its conditions, as its target_group.* events carry them."""

    conditions: list[Condition] = Field(default_factory=list)
    match: Match = "all"


def in_target_group(
    rule: GroupRule,
    kind: RowKind,
    record: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    class_types: Mapping[str, str],
) -> bool:
    """Whether a row meets a target group's conditions.

    Only the conditions count: members added to the group by hand are not projected here, so a
    hand-added contact that does not meet the conditions is not in this filter. An account row
    is evaluated as an account without a contact: conditions on `account.*` fields and classes
    decide; a condition on a contact field holds only if it holds for an empty value.
    """
    if kind == "account":
        return matches(rule.conditions, rule.match, {}, record, class_types)
    return matches(rule.conditions, rule.match, record, account, class_types)


# ----------------------------------------------------------------------------- access


def visible_to(role: Role, user_id: str, groups: Collection[str], owner_id: str | None, manager_id: str | None) -> bool:
    """Admins and managers see every row; a user the rows they or their groups own or manage.

    The directory's finer rules (a manager's team, the tenant's open modules) read data this
    service does not project, so managers see the whole list and users their own part of it.
    """
    if role in (Role.ADMIN, Role.MANAGER):
        return True
    return owner_id in {user_id, *groups} or (manager_id is not None and manager_id == user_id)


# ----------------------------------------------------------------------------- latest event


class LatestEvent(BaseModel):
    """The latest event linked to a row: what the call list shows of it."""

    model_config = OUTPUT

    id: str
    type: str
    subject: str
    start: datetime
    owner_id: str


def summary(activity: Any) -> dict[str, Any]:
    """The stored form of an event as a row's latest (start as a sortable UTC stamp)."""
    return {
        "id": activity.id,
        "type": activity.type,
        "subject": activity.subject,
        "start": clock.iso(activity.start),
        "owner_id": activity.owner_id,
    }


def rank(latest: Mapping[str, Any] | None) -> tuple[str, str]:
    return (latest["start"], latest["id"]) if latest else (NO_EVENT, "")


def later(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The later of two events (greatest start, then id)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if rank(a) >= rank(b) else b


class Recompute(BaseModel):
    """The latest must be found again: the best of `candidate` and the stored events but `exclude`."""

    exclude: str
    candidate: dict[str, Any] | None = None


def latest_after_change(
    current: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> Mapping[str, Any] | Recompute | None:
    """A row's latest event after one event changed.

    `before`/`after` are that event's summaries while it counted for this row (linked to it and
    an event), None when it did not (created, deleted, unlinked). Returns the new latest, or a
    `Recompute` when the current latest moved earlier or went away.
    """
    if after is not None:
        if current is None or current["id"] != after["id"]:
            return dict(after) if rank(after) > rank(current) else current
        if rank(after) >= rank(current):
            return dict(after)
        return Recompute(exclude=after["id"], candidate=dict(after))
    if current is not None and before is not None and current["id"] == before["id"]:
        return Recompute(exclude=before["id"])
    return current


def rank_keys(row_id: str, latest: Mapping[str, Any] | None) -> tuple[str, str]:
    """Sort keys of a row: by latest time, and by latest type then time."""
    start = latest["start"] if latest else NO_EVENT
    kind = latest["type"] if latest else ""
    return f"{start}#{row_id}", f"{kind}#{start}#{row_id}"


# ----------------------------------------------------------------------------- rows

_ACCOUNT_KEYS = account_keys() | {"number", "name", "status", "email", "phone", "city", "owner", "classes"}
_CONTACT_KEYS = contact_keys() | {"number", "first_name", "last_name", "email", "phone", "mobile", "owner"}


def projected(kind: RowKind, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a row keeps of a directory record: the fields filters, conditions and the list read."""
    keys = _ACCOUNT_KEYS if kind == "account" else _CONTACT_KEYS
    return {k: v for k, v in record.items() if k in keys and v is not None}


def listed(kind: RowKind, data: Mapping[str, Any]) -> bool:
    """Whether a row can appear at all: announced, not gone, and (contacts) active and not erased."""
    if not data.get("announced") or data.get("gone"):
        return False
    return kind == "account" or is_contactable(data.get("record") or {})


def _version(record: Mapping[str, Any]) -> int:
    return int(record.get("version") or 0)


def with_record(kind: RowKind, data: Mapping[str, Any] | None, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A row with a directory record (as its event shows it, with its `version`).

    None when the row holds that version or a later one (a redelivered or late event) or is a
    tombstone (deleted and erased records do not come back).
    """
    current = dict(data or {})
    if current.get("gone") or int(current.get("record_version", 0)) >= _version(record):
        return None
    return {**current, "announced": True, "record": projected(kind, record), "record_version": _version(record)}


def with_account(data: Mapping[str, Any], account_id: str | None, account: Mapping[str, Any] | None) -> dict[str, Any]:
    """A contact row carrying the fields of its account `account_id` (whose row data is `account`).

    The newest account version wins, so carrying an older one changes nothing; a contact without
    an account carries none; an account not announced yet is carried once it is.
    """
    if account_id is None:
        return {k: v for k, v in data.items() if k not in ("account", "account_version")}
    held = data.get("account") or {}
    if account is None or not listed("account", account):
        return dict(data) if held.get("id") == account_id else with_account(data, None, None)
    version = int(account.get("record_version", 0))
    if held.get("id") == account_id and int(data.get("account_version", 0)) >= version:
        return dict(data)
    return {**data, "account": {"id": account_id, **account["record"]}, "account_version": version}


def chunk_size(limit: int, shown: int, read: int, max_read: int) -> int:
    """How many rows a page reads next: enough for the rest of it at the share that passed so far.

    The first read is the page (+1, so that an unfiltered list knows where it ends); later ones at
    most three times what was read before, so that a first read that passed few rows by chance
    does not read far past the page; never past `max_read` in all.
    """
    wanted = limit + 1 - shown
    if read == 0:
        return min(wanted, max_read)
    estimate = math.ceil(wanted * read / max(shown, 1) * 1.25)
    return max(1, min(max(wanted, estimate), 3 * read, max_read - read))


class CallListRow(BaseModel):
    """One row of the call list: an account, or a contact with its account's main fields."""

    model_config = OUTPUT

    id: str
    kind: RowKind
    number: str | None = None
    name: str
    status: str | None = Field(None, description="The account's status (a contact's: its account's)")
    account_id: str | None = None
    account_name: str | None = None
    account_manager_id: str | None = None
    owner_id: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    city: str | None = None
    classes: list[str] = Field(default_factory=list)
    latest_event: LatestEvent | None = None


def contact_name(contact: Mapping[str, Any]) -> str:
    return " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p) or "?"


def row_of(kind: RowKind, row_id: str, data: Mapping[str, Any]) -> CallListRow:
    """The row a client sees, from the stored projection."""
    record = data.get("record") or {}
    account = data.get("account") or {}
    latest = data.get("latest")
    if kind == "account":
        return CallListRow(
            id=row_id,
            kind=kind,
            number=record.get("number"),
            name=record.get("name") or "?",
            status=record.get("status"),
            account_id=row_id,
            account_name=record.get("name"),
            account_manager_id=record.get("account_manager_id"),
            owner_id=(record.get("owner") or {}).get("id"),
            email=record.get("email"),
            phone=record.get("phone"),
            city=record.get("city"),
            classes=list(record.get("classes") or []),
            latest_event=LatestEvent.model_validate(latest) if latest else None,
        )
    return CallListRow(
        id=row_id,
        kind=kind,
        number=record.get("number"),
        name=contact_name(record),
        status=account.get("status"),
        account_id=record.get("account_id"),
        account_name=account.get("name"),
        account_manager_id=contact_manager(record, account or None),
        owner_id=(record.get("owner") or {}).get("id"),
        email=record.get("email"),
        phone=record.get("phone"),
        mobile=record.get("mobile"),
        city=account.get("city"),
        classes=list(record.get("classes") or []),
        latest_event=LatestEvent.model_validate(latest) if latest else None,
    )


# ----------------------------------------------------------------------------- logging a call


class CallCreate(BaseModel):
    """Log a call from the call list: an event linked to the row's account or contact.

    Mode `accounts` logs it on `account_id` (no `contact_id`); the other modes on `contact_id`
    (no `account_id`)."""

    model_config = input_config(
        oneOf=[
            {
                "properties": {"mode": {"const": "accounts"}, "account_id": {"type": "string"}, "contact_id": False},
                "required": ["mode", "account_id"],
            },
            {
                "properties": {
                    "mode": {"enum": ["contacts", "account_contacts"]},
                    "contact_id": {"type": "string"},
                    "account_id": False,
                },
                "required": ["mode", "contact_id"],
            },
        ]
    )

    mode: CallListMode = Field(description="The search mode: accounts link the account, the others the contact")
    account_id: OptId = None
    contact_id: OptId = None
    subject: Name200
    start: AwareDatetime
    end: AwareDatetime | None = Field(None, description="When the call ended; the start when left out")
    type: str = Field("call", pattern=r"^[a-z0-9_-]{1,64}$", description="An activity type of kind event")
    description: str | None = Field(None, max_length=10_000)

    def check_link(self) -> None:
        """The search mode decides the link: accounts mode an account, the others a contact (422 naming it)."""
        needed, other = ("account_id", "contact_id") if self.mode == "accounts" else ("contact_id", "account_id")
        if getattr(self, needed) is None:
            raise ValidationFailed.on(needed, f"mode {self.mode} logs the call on a {needed[:-3]}", "missing")
        if getattr(self, other) is not None:
            raise ValidationFailed.on(other, f"mode {self.mode} logs the call on a {needed[:-3]} only", "not_allowed")

    @property
    def row_id(self) -> str:
        return str(self.account_id if self.mode == "accounts" else self.contact_id)
