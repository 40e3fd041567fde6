"""The invoicing table: records `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map.

Indexes, each for one access pattern (a new one needs its template.yaml index too):
- `by_type`    gsi1: every record of a kind in a tenant, in id order;
- `by_account` gsi2: `T#<t>#ACCOUNT#<id>#<KIND>` / id: a customer's sales orders;
- `by_due`     the kernel's (shared/due.py): active sales orders at the day after their next period
               ends, across tenants: the tenants the daily billing run visits;
- `by_update`  the kernel's (shared/store.py): the records of `synced_kinds` and their tombstones by
               the time of their last write, for the lists' `updated_since`.
"""

from collections.abc import Iterator

from pynamodb.attributes import UnicodeAttribute

from shared.due import ByDue, DueItem
from shared.store import ByUpdate, DataItem, DataStore, gsi, tenant_key


class Record(DueItem, DataItem):
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)

    by_type = gsi("by_type", 1)
    by_account = gsi("by_account", 2)
    by_update = ByUpdate()
    by_due = ByDue()

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset({"product", "price_list", "sales_order"})

    def link_account(self, tenant_id: str, account_id: str | None) -> None:
        """List the record under its customer account (or nowhere: the index is sparse)."""
        self.gsi2pk = tenant_key(tenant_id, "ACCOUNT", account_id, self.kind.upper()) if account_id else None
        self.gsi2sk = self.record_id if account_id else None


class InvoicingStore(DataStore[Record]):
    """Reads of the invoicing table; writes go through a UnitOfWork."""

    model = Record

    def of_account(self, tenant_id: str, account_id: str, kind: str) -> Iterator[Record]:
        yield from Record.by_account.query(tenant_key(tenant_id, "ACCOUNT", account_id, kind.upper()))
