"""The sms table: records `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map.

Indexes, each for one access pattern (a new one needs its template.yaml index too):
- `by_type`    gsi1: every record of a kind in a tenant, in id order;
- `by_contact` gsi2: `T#<t>#CONTACT#<id>#<KIND>` / id: a contact's records (erasure finds them here);
               a contacts-projection row is listed here by its mobile number instead:
               `T#<t>#NUMBER#<E.164>#RECIPIENT` / contact id (inbound messages find their contact);
- `by_parent`  gsi3: `T#<t>#<PARENT>#<id>#<KIND>` / id: children of a record (an account's contacts in
               the contacts projection, shared/recipients.py);
- `by_update`  the kernel's (shared/store.py): the records of `synced_kinds` and their tombstones by
               the time of their last write, for the lists' `updated_since`;
- `by_due`     the kernel's (shared/due.py), across tenants: `DUE#<shard>` / `<due>#<tenant>#<id>`:
               a message `waiting` for its window's opening, or `sent` until its receipt's deadline
               (72 h, then `unknown`); the jobs' sweep (sweep.py) acts on what fell due.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from shared.due import ByDue, DueItem
from shared.store import ByUpdate, DataItem, DataStore, TableItem, gsi, tenant_key


class Record(DueItem, DataItem):
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)

    by_type = gsi("by_type", 1)
    by_contact = gsi("by_contact", 2)
    by_parent = gsi("by_parent", 3)
    by_update = ByUpdate()
    by_due = ByDue()

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset({"ledger_entry", "send"})

    def link_contact(self, tenant_id: str, contact_id: str | None) -> None:
        """List the record under its contact (or nowhere: the index is sparse)."""
        self.gsi2pk = tenant_key(tenant_id, "CONTACT", contact_id, self.kind.upper()) if contact_id else None
        self.gsi2sk = self.record_id if contact_id else None


class BalanceItem(TableItem):
    """The tenant's SMS credits (credits.py): what sends may reserve, what they hold, what was charged."""

    available = NumberAttribute(default=0)
    reserved = NumberAttribute(default=0)
    charged = NumberAttribute(default=0)

    @classmethod
    def of(cls, tenant_id: str) -> BalanceItem:
        return cls(pk=tenant_key(tenant_id, "SMS_CREDITS"), sk="BALANCE", kind="sms_balance")


class ProviderMessageItem(TableItem):
    """The provider's MessageId of a sent message -> its tenant and message (inbound.py finds the
    tenant an inbound reply belongs to by its `previousPublishedMessageId`); written by the
    sender's settlement."""

    tenant_id = UnicodeAttribute()
    message_id = UnicodeAttribute()

    @classmethod
    def of(cls, provider_message_id: str, tenant_id: str = "", message_id: str = "") -> ProviderMessageItem:
        pk = f"SMS_PROVIDER_MESSAGE#{provider_message_id}"
        return cls(pk=pk, sk="MESSAGE", kind="sms_provider_message", tenant_id=tenant_id, message_id=message_id)


def number_key(tenant_id: str, e164: str) -> str:
    return tenant_key(tenant_id, "NUMBER", e164, "RECIPIENT")


class SmsStore(DataStore[Record]):
    """Reads of the sms table; writes go through a UnitOfWork."""

    model = Record

    def of_contact(self, tenant_id: str, contact_id: str, kind: str) -> Iterator[Record]:
        yield from Record.by_contact.query(tenant_key(tenant_id, "CONTACT", contact_id, kind.upper()))
