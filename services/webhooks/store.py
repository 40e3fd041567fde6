"""The webhooks table: records `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map.

Indexes, each for one access pattern (a new one needs its template.yaml index too):
- `by_type`    gsi1: every record of a kind in a tenant, in id order (endpoints); a delivery `message`
               is listed instead by its endpoint, `T#<t>#ENDPOINT#<endpoint id>#MESSAGE` /
               `<created_at>#<id>`, and an `attempt` by its message, `T#<t>#MESSAGE#<message id>#ATTEMPT`
               / the attempt's number, two digits (messages.py);
- `by_contact` gsi2: `T#<t>#CONTACT#<id>#<KIND>` / id: a contact's records (erasure finds them here);
- `by_update`  the kernel's (shared/store.py): the records of `synced_kinds` and their tombstones by
               the time of their last write, for the lists' `updated_since`;
- `by_due`     the kernel's (shared/due.py), across tenants: `DUE#<shard>` / `<due>#<tenant>#<id>`:
               a message waiting for its next attempt or for its claim's deadline; the jobs' sweep
               (sweep.py) acts on what fell due.

Messages and attempts expire (`expires_at`, the table's TTL) after the tenant's retention.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from shared.due import ByDue, DueItem
from shared.store import ByUpdate, DataItem, DataStore, TableItem, gsi, tenant_key


class Record(DueItem, DataItem):
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_type = gsi("by_type", 1)
    by_contact = gsi("by_contact", 2)
    by_update = ByUpdate()
    by_due = ByDue()

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset[str]()

    def link_contact(self, tenant_id: str, contact_id: str | None) -> None:
        """List the record under its contact (or nowhere: the index is sparse)."""
        self.gsi2pk = tenant_key(tenant_id, "CONTACT", contact_id, self.kind.upper()) if contact_id else None
        self.gsi2sk = self.record_id if contact_id else None


class HealthItem(TableItem):
    """An endpoint's delivery health, apart from its record so that deliveries never change the
    endpoint's version (an admin's If-Match): `T#<t>#ENDPOINT_HEALTH#<endpoint id>` / `HEALTH`."""

    last_success_at = UnicodeAttribute(null=True)
    failing_since = UnicodeAttribute(null=True)  # the first failure after the last success
    failures = NumberAttribute(null=True)  # attempts failed since the last success
    slow_until = UnicodeAttribute(null=True)  # its last attempt timed out: its messages take the slow lane until then

    @classmethod
    def of(cls, tenant_id: str, endpoint_id: str) -> HealthItem:
        return cls(pk=tenant_key(tenant_id, "ENDPOINT_HEALTH", endpoint_id), sk="HEALTH", kind="endpoint_health")


def batch_get_mixed(keys: list[tuple[str, str]]) -> list[Record | HealthItem]:
    """Records and health items (one table, two models) in consistent BatchGetItems of 100 keys,
    unprocessed keys asked again: each item as its model, told apart by its sort key."""
    items: list[Record | HealthItem] = []
    for start in range(0, len(keys), 100):
        page: list[Any] = [{"pk": pk, "sk": sk} for pk, sk in keys[start : start + 100]]
        while page:
            raw_items, unprocessed = Record._batch_get_page(page, consistent_read=True, attributes_to_get=None)
            for raw in raw_items or []:
                health = raw.get("sk", {}).get("S") == "HEALTH"
                items.append(HealthItem.from_raw_data(raw) if health else Record.from_raw_data(raw))
            page = unprocessed or []
    return items


class WebhooksStore(DataStore[Record]):
    """Reads of the webhooks table; writes go through a UnitOfWork."""

    model = Record

    def of_contact(self, tenant_id: str, contact_id: str, kind: str) -> Iterator[Record]:
        yield from Record.by_contact.query(tenant_key(tenant_id, "CONTACT", contact_id, kind.upper()))
