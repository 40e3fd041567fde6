"""A service's projection of directory contacts with their accounts: one row per contact.

Services that reach contacts (email's previews and sends, SMS's sends) read a contact's fields and
its owner from here, not from the directory. A service builds one `Recipients` over its store and
its subscription registry (`handlers`); the rows are records of its table:
- `recipient`, id = contact id: see `shared/recipient_rows.py` for its data. Index `by_parent`
  (gsi3, which the service's table must have): `T#<t>#ACCOUNT#<account id>#RECIPIENT` /
  `<contact id>`, so an account's change reaches its contacts with one Query (set while the
  contact names an account and is not gone).
- `recipient_account`, id = account id: the account's fields and version.

Directory events are applied with absolute writes guarded by the record's `version`, so a
redelivered or late event changes nothing; deleted and erased contacts become tombstones
holding no personal data, which later events of that contact cannot revive. Each write is its own
retried transaction; the consumer's dedupe marker is only a shortcut.

Who sees a contact (`ContactViewer`): its owner, from the row, is the caller or one of their
groups, or the caller is a manager or an admin, or the tenant opened contacts to every user (the
directory's `open_modules`, heard from `tenant.access_changed` and kept as the `access` setting).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared import clock, permissions
from shared.consumer import Handle
from shared.errors import Forbidden, NotFound
from shared.events import Envelope
from shared.permissions import Action, Policy, Subject
from shared.recipient_rows import RowRules
from shared.service import Caller
from shared.store import (
    ConcurrentUpdate,
    DataItem,
    DataStore,
    UnitOfWork,
    record_key,
    run_with_retries,
    tenant_key,
)
from shared.types import Owner

RECIPIENT = "recipient"
ACCOUNT = "recipient_account"
ACCESS = "access"  # the directory's open modules for the tenant, as `tenant.access_changed` told them
MAX_BATCH = 99  # rows per transaction when an account's change reaches its contacts
INDEX_KEYS = ("gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")  # the row's keys `_place` sets (by_parent, a service's own)


def access_default() -> dict[str, Any]:
    return {"open_modules": [], "at": None}


@dataclass
class ContactViewer(Caller):
    """A caller that sees contacts by the directory's rule, from a projection row's `owner`."""

    @property
    def subject(self) -> Subject:
        return Subject.of(self.auth)

    @property
    def policy(self) -> Policy:
        """The tenant's part of the rules: the modules it opened to every user (the directory's
        `open_modules`: an open "contacts" lets every user see every contact here too)."""
        return Policy(open_resources=frozenset(self.setting(ACCESS).get("open_modules") or ()))

    def allows(self, action: Action, resource: str, owner: Owner | None = None) -> bool:
        return permissions.allows(self.subject, action, resource, owner, self.policy)

    @property
    def sees_every_contact(self) -> bool:
        return permissions.visible_owners(self.subject, "contacts", self.policy) is None

    def sees_contact(self, contact: dict[str, Any] | None) -> bool:
        """Whether the caller may see a contact, from its projected fields (its `owner`)."""
        if self.sees_every_contact:
            return True
        owner = (contact or {}).get("owner") or {}
        if not owner.get("id"):
            return False
        of = Owner.model_construct(type="group" if owner.get("type") == "group" else "user", id=str(owner["id"]))
        return self.allows(Action.VIEW, "contacts", of)

    def shared_record(self, kind: str, record_id: str, what: str, resource: str, action: Action | None) -> Any:
        """A record every user of the tenant sees (an email template or campaign, an SMS send):
        404 naming `what` when there is none; with `action`, 403 unless the caller may do it."""
        record = self.store.get(self.tenant, kind, record_id)
        if record is None:
            raise NotFound(f"No {what} {record_id}.")
        if action is not None:
            self.require(action, resource, record)
        return record

    def require(self, action: Action, resource: str, record: DataItem) -> None:
        """403 unless the caller may do `action` to a shared record of a messaging service (an
        email template or campaign, an SMS send), which every user sees: its owner is its creator."""
        if not self.allows(action, resource, creator_of(record)):
            what = resource.rstrip("s").replace("_", " ")
            raise Forbidden(f"Only the {what}'s creator, a manager or an admin may {VERBS[action]} it.")


VERBS = {Action.CHANGE: "change", Action.DELETE: "delete", Action.SEND: "send"}


def creator_of(record: DataItem) -> Owner:
    """The owner of a record its creator owns (an email template or campaign, an SMS send): the
    user who created it ("" for a service's, which no plain user matches)."""
    return Owner.model_construct(type="user", id=str(record.data.get("created_by") or ""))


R = TypeVar("R", bound=DataItem)
Change = Callable[[dict[str, Any] | None, UnitOfWork], dict[str, Any] | None]


def _tombstone(why: str) -> Change:
    """A row's change into a tombstone (none when it is one already)."""
    return lambda data, _: None if (data or {}).get("gone") else {"gone": why}


def contacts_of_pk(tenant: str, account_id: str) -> str:
    return tenant_key(tenant, "ACCOUNT", account_id, "RECIPIENT")


class Recipients(Generic[R]):
    """The projection over one service's store; a service subscribes its `handlers()`."""

    def __init__(
        self,
        store: DataStore[R],
        rules: RowRules,
        index: Callable[[R, str], None] | None = None,
        companions: Callable[[UnitOfWork, R, str], None] | None = None,
    ) -> None:
        """`index(row, tenant)`: sets a service's own index keys on a contact's row at each write.
        `companions(uow, row, tenant)`: stages the service's own records that follow a contact's row
        (a second index entry, say: a row has one key per index) in the row's transaction, at most
        one write a row (so an account's change carries half as many rows a transaction)."""
        self.store = store
        self.rules = rules
        self.index = index
        self.companions = companions

    # ------------------------------------------------------------------ reads

    def row(self, caller: ContactViewer, contact_id: str) -> dict[str, Any]:
        """A contact's row data (contact, account); 404 if the service has not heard of it, it is
        gone, or the caller may not see it (the same answer)."""
        row = self.store.get(caller.tenant, RECIPIENT, contact_id)
        if row is None or row.data.get("gone") or "contact" not in row.data:
            raise NotFound(f"No contact {contact_id}.")
        if not caller.sees_contact(row.data["contact"]):
            raise NotFound(f"No contact {contact_id}.")
        return row.data

    def hidden_from(self, caller: ContactViewer, contact_ids: list[str]) -> set[str]:
        """The ids among `contact_ids` of contacts the caller may not see (BatchGet, 100 keys a call):
        a deleted or erased contact is seen only by a caller who sees every contact (its owner is
        no longer known, so deleting a contact must not open its records to every user). A contact
        the projection has not heard of is not hidden."""
        if caller.sees_every_contact or not contact_ids:
            return set()
        hidden: set[str] = set()
        for contact_id, row in self.rows_of(caller.tenant, contact_ids).items():
            if row.data.get("gone") or ("contact" in row.data and not caller.sees_contact(row.data["contact"])):
                hidden.add(contact_id)
        return hidden

    def rows_of(self, tenant: str, contact_ids: list[str]) -> dict[str, R]:
        """The rows of these contacts that exist (BatchGet, 100 keys a call)."""
        ids = list(dict.fromkeys(contact_ids))
        found: dict[str, R] = {}
        for start in range(0, len(ids), 100):
            found.update(self.store.get_many(tenant, RECIPIENT, ids[start : start + 100]))
        return found

    # ------------------------------------------------------------------ writes

    def _place(self, row: R, tenant: str) -> None:
        data = row.data
        account_id = (data.get("contact") or {}).get("account_id")
        if account_id and not data.get("gone"):
            row.gsi3pk, row.gsi3sk = contacts_of_pk(tenant, account_id), row.record_id  # type: ignore[attr-defined]
        else:
            row.gsi3pk = row.gsi3sk = None  # type: ignore[attr-defined]
        if self.index is not None:
            self.index(row, tenant)

    def _write(self, tenant: str, kind: str, row_id: str, change: Change) -> None:
        """Read a row, let `change(data or None, uow)` give its new data (None: leave it), write; retried."""

        def attempt() -> None:
            row = self.store.get(tenant, kind, row_id)
            uow = UnitOfWork()
            data = change(row.data if row else None, uow)
            if data is None:
                return
            self._stage(uow, row, tenant, kind, row_id, data)
            uow.commit()

        run_with_retries(attempt)

    def _stage(self, uow: UnitOfWork, row: R | None, tenant: str, kind: str, row_id: str, data: dict[str, Any]) -> None:
        new = row is None
        if row is None:
            row = self.store.new(tenant, kind, row_id, data)
        else:
            row.data = data
        if kind == RECIPIENT:
            self._place(row, tenant)
            if self.companions is not None:
                self.companions(uow, row, tenant)
        if new:
            self.store.add(uow, row)
        else:
            uow.save(row)

    def reindex(self, tenant: str, after: str | None = None, deadline: float | None = None) -> tuple[int, str | None]:
        """Place the tenant's contact rows again (index keys and companions), in id order from the
        one after `after`, writing only the rows whose keys, data or companions differ: for rows
        projected before an index existed. One transaction per batch of rows (as an account's
        change is carried), each row version-guarded, a batch retried on a concurrent write (read
        again), so it is safe to run again and beside the consumer. Stops after the batch that
        passes `deadline` (time.monotonic()). Returns the rows written and the last row id placed
        when it stopped early (None: every row is placed)."""
        model: Any = self.store.model
        condition = model.gsi1sk > after if after else None
        size = MAX_BATCH if self.companions is None else MAX_BATCH // 2
        written = 0
        batch: list[R] = []
        for row in model.by_type.query(tenant_key(tenant, RECIPIENT.upper()), range_key_condition=condition):
            batch.append(row)  # as the index holds it (ALL projected)
            if len(batch) < size:
                continue
            written += self._replace_batch(tenant, batch)
            after, batch = batch[-1].record_id, []
            if deadline is not None and time.monotonic() > deadline:
                return written, after
        return written + (self._replace_batch(tenant, batch) if batch else 0), None

    def _replace_batch(self, tenant: str, rows: list[R]) -> int:
        first: list[list[R]] = [rows]
        ids = [row.record_id for row in rows]

        def attempt() -> int:
            read = first.pop() if first else list(self.store.get_many(tenant, RECIPIENT, ids).values())
            uow = UnitOfWork()
            changed = 0
            for row in read:
                staged = len(uow)
                before = ([getattr(row, name, None) for name in INDEX_KEYS], copy.deepcopy(row.data))
                self._place(row, tenant)
                if self.companions is not None:
                    self.companions(uow, row, tenant)
                if ([getattr(row, name, None) for name in INDEX_KEYS], row.data) != before:
                    uow.save(row)
                changed += len(uow) > staged
            if len(uow):
                uow.commit()
            return changed

        return int(run_with_retries(attempt))

    def contact_changed(self, tenant: str, record: dict[str, Any], contact_id: str) -> None:
        rules, model = self.rules, self.store.model

        def change(data: dict[str, Any] | None, uow: UnitOfWork) -> dict[str, Any] | None:
            new = rules.contact_with(data, record)
            if new is None:
                return None
            account_id = new["contact"].get("account_id")
            if not account_id:
                return rules.carrying(new, None)
            account = self.store.get(tenant, ACCOUNT, account_id)
            # Commit only if the account row is still what was read: a change in between is seen on
            # the retry, or carried to this row by the account's own handler.
            condition = model.version == account.version if account else model.pk.does_not_exist()
            uow.check(model, record_key(tenant, ACCOUNT, account_id), ACCOUNT.upper(), condition, ConcurrentUpdate)
            return rules.carrying(new, account.data if account else None)

        self._write(tenant, RECIPIENT, contact_id, change)

    def account_changed(self, tenant: str, record: dict[str, Any], account_id: str) -> None:
        self._write(tenant, ACCOUNT, account_id, lambda data, _: self.rules.account_with(data, record))
        self.spread_account(tenant, account_id)

    def account_deleted(self, tenant: str, account_id: str) -> None:
        self._write(
            tenant, ACCOUNT, account_id, lambda data, _: None if (data or {}).get("gone") else {"gone": "deleted"}
        )
        self.spread_account(tenant, account_id)

    def bury(self, tenant: str, contact_id: str, why: str) -> None:
        """Replace the row by a tombstone: none of the contact's data is kept."""
        self._write(tenant, RECIPIENT, contact_id, lambda data, _: None if (data or {}).get("gone") else {"gone": why})

    def contacts_merged(self, tenant: str, survivor_id: str, merged_ids: list[str], record: dict[str, Any]) -> None:
        """A merge (`contact.merged`): the merged contacts' rows become tombstones (a late event of
        theirs revives nothing), the survivor's row takes `record` when its version is newer."""
        for merged_id in merged_ids:
            if merged_id != survivor_id:
                self.bury(tenant, merged_id, "merged")
        if record:
            self.contact_changed(tenant, record, survivor_id)

    def accounts_merged(self, tenant: str, survivor_id: str, merged_ids: list[str], record: dict[str, Any]) -> None:
        """A merge (`account.merged`): the merged accounts' rows become tombstones and their contacts'
        rows stop carrying them (the directory moves the contacts to the survivor with their own
        `contact.updated`); the survivor's row takes `record` when its version is newer."""
        for merged_id in merged_ids:
            if merged_id != survivor_id:
                self._write(tenant, ACCOUNT, merged_id, _tombstone("merged"))
                self.spread_account(tenant, merged_id)
        if record:
            self.account_changed(tenant, record, survivor_id)

    def spread_account(self, tenant: str, account_id: str) -> int:
        """Carry an account row to the rows of its contacts (by_parent index); returns how many changed."""
        account = self.store.get(tenant, ACCOUNT, account_id)
        if account is None:
            return 0
        changed = 0
        batch: list[str] = []
        index = self.store.model.by_parent  # type: ignore[attr-defined]
        for row in index.query(contacts_of_pk(tenant, account_id), page_size=100):
            batch.append(row.record_id)
            if len(batch) == (MAX_BATCH if self.companions is None else MAX_BATCH // 2):
                changed += self._spread_batch(tenant, account_id, account.data, batch)
                batch = []
        return changed + (self._spread_batch(tenant, account_id, account.data, batch) if batch else 0)

    def _spread_batch(self, tenant: str, account_id: str, account: dict[str, Any], ids: list[str]) -> int:
        def attempt() -> int:
            uow = UnitOfWork()
            for contact_id, row in self.store.get_many(tenant, RECIPIENT, ids).items():
                data = row.data
                if data.get("gone") or (data.get("contact") or {}).get("account_id") != account_id:
                    continue
                new = self.rules.carrying(data, account)
                if new != data:
                    self._stage(uow, row, tenant, RECIPIENT, contact_id, new)
            uow.commit()
            return len(uow)

        return int(run_with_retries(attempt))

    # ------------------------------------------------------------------ subscriptions

    def handlers(self, service_caller: Callable[[str], Caller]) -> dict[str, Handle]:
        """The projection's handler of each event it consumes, for a service's
        subscription registry (`service_caller(tenant)`: the service's own caller for a tenant)."""
        # imported here, by the consumer that subscribes: a service's other functions (its API, sender,
        # jobs) load no directory contract with the projection (its target group conditions: ~4-8 ms)
        from shared.contracts.directory import ContactErased, RecordChanged, RecordDeleted, TenantAccessChanged

        def on_contact_changed(envelope: Envelope, uow: UnitOfWork) -> None:
            payload = RecordChanged.model_validate(envelope.data)
            self.contact_changed(envelope.tenant_id, payload.record, payload.id)

        def on_account_changed(envelope: Envelope, uow: UnitOfWork) -> None:
            payload = RecordChanged.model_validate(envelope.data)
            self.account_changed(envelope.tenant_id, payload.record, payload.id)

        def on_account_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
            self.account_deleted(envelope.tenant_id, RecordDeleted.model_validate(envelope.data).id)

        def on_contact_deleted(envelope: Envelope, uow: UnitOfWork) -> None:
            self.bury(envelope.tenant_id, RecordDeleted.model_validate(envelope.data).id, "deleted")

        def on_contact_erased(envelope: Envelope, uow: UnitOfWork) -> None:
            self.bury(envelope.tenant_id, ContactErased.model_validate(envelope.data).id, "erased")

        def on_access_changed(envelope: Envelope, uow: UnitOfWork) -> None:
            """The tenant's open modules (the directory's rule for who sees contacts); a late event
            older than the one kept changes nothing."""
            access = TenantAccessChanged.model_validate(envelope.data)
            caller = service_caller(envelope.tenant_id)
            at = clock.iso(envelope.occurred_at)
            kept = caller.setting(ACCESS).get("at")
            if kept and str(kept) >= at:
                return
            caller.stage_setting(uow, ACCESS, {"open_modules": sorted(access.open_modules), "at": at})

        return {
            "contact.created": on_contact_changed,
            "contact.updated": on_contact_changed,
            "contact.deleted": on_contact_deleted,
            "contact.erased": on_contact_erased,
            "account.created": on_account_changed,
            "account.updated": on_account_changed,
            "account.deleted": on_account_deleted,
            "tenant.access_changed": on_access_changed,
        }
