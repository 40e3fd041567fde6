"""The scanner table: records `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map.

Indexes, each for one access pattern (a new one needs its template.yaml index too):
- `by_type`    gsi1: every record of a kind in a tenant, in id order (tickets: ULIDs, oldest first);
- `by_contact` gsi2: `T#<t>#CONTACT#<id>#TICKET` / id: a requester's tickets; a contacts-projection
               row is listed here by its email address instead: `T#<t>#EMAIL#<address>#RECIPIENT`
               / contact id (an inbound mail finds its requester: recipients.py);
- `by_parent`  gsi3: `T#<t>#<PARENT>#<id>#<KIND>` / id: a ticket's articles; an account's contacts in
               the contacts projection (shared/recipients.py); the tickets whose requester's
               account it is (`T#<t>#ACCOUNT#<id>#TICKET`: an account's merge moves them);
- `by_owner`   gsi4: `T#<t>#OWNER#<owner id>#TICKET` / ticket id: the tickets of a user or a group;
- `by_mailbox` gsi5: `T#<t>#MAILBOX#<mailbox id>#TICKET` / ticket id: the tickets a mailbox opened;
- `by_update`  the kernel's (shared/store.py): the records of `synced_kinds` and their tombstones by
               the time of their last write, for the lists' `updated_since`.

Besides records: a mailbox's address, stack-wide (`ADDRESS#<address>` / `MAILBOX_ADDRESS`: one
tenant's mailbox per address, mailboxes.py), the inbound dedupe keys (`inbound.py`) and what
threads a reply onto its ticket (`ThreadItem`, threads.py).
"""

from collections.abc import Iterator

from pynamodb.attributes import UnicodeAttribute

from shared.store import ByUpdate, DataItem, DataStore, TableItem, gsi, tenant_key


class Record(DataItem):
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    gsi5pk = UnicodeAttribute(null=True)
    gsi5sk = UnicodeAttribute(null=True)

    by_type = gsi("by_type", 1)
    by_contact = gsi("by_contact", 2)
    by_parent = gsi("by_parent", 3)
    by_owner = gsi("by_owner", 4)
    by_mailbox = gsi("by_mailbox", 5)
    by_update = ByUpdate()

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset({"mailbox"})

    def link_contact(self, tenant_id: str, contact_id: str | None) -> None:
        """List the record under its contact (or nowhere: the index is sparse)."""
        self.gsi2pk = tenant_key(tenant_id, "CONTACT", contact_id, self.kind.upper()) if contact_id else None
        self.gsi2sk = self.record_id if contact_id else None


class ThreadItem(TableItem):
    """What finds a ticket for a mail that answers it (threads.py): one of its articles'
    Message-IDs (`T#<t>#MESSAGE#<digest>` / `MESSAGE`) or its number (`T#<t>#TICKET_NUMBER#<n>` /
    `TICKET_NUMBER`), naming the ticket. No version: a Message-ID seen again points to where it
    went last."""

    ticket_id = UnicodeAttribute()


class ScannerStore(DataStore[Record]):
    """Reads of the scanner table; writes go through a UnitOfWork."""

    model = Record

    def of_contact(self, tenant_id: str, contact_id: str, kind: str) -> Iterator[Record]:
        yield from Record.by_contact.query(tenant_key(tenant_id, "CONTACT", contact_id, kind.upper()))
