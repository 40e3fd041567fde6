"""The access table: records `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map.

Indexes, each for one access pattern (a new one needs its template.yaml index too):
- `by_type`    gsi1: every record of a kind in a tenant, in id order (the tenant's API keys);
- `by_update`  the kernel's (shared/store.py), unused: keys are never deleted (a revoked key is
               kept) and their list takes no `updated_since`.
A key's last use (`last_used_at`, `last_used_ip`) sits beside its `data`, outside its version: the
authorizer writes it (`record_use`) without changing the key's ETag under an admin's edit.
"""

from datetime import datetime

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from shared.store import ByUpdate, DataItem, DataStore, gsi, record_key


class Record(DataItem):
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    last_used_at = UnicodeAttribute(null=True)
    last_used_ip = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)  # sign-in attempts and counters (services/access/logins.py)

    by_type = gsi("by_type", 1)
    by_update = ByUpdate()


class AccessStore(DataStore[Record]):
    """Reads of the access table; writes go through a UnitOfWork."""

    model = Record

    def record_use(self, tenant_id: str, kind: str, record_id: str, at: datetime, ip: str) -> None:
        """Note a key's last use: one UpdateItem of two attributes, no version check or bump (the
        key's data is not changed), only if the key still exists."""
        connection = Record._get_connection()
        connection.update_item(
            record_key(tenant_id, kind, record_id),
            kind.upper(),
            actions=[Record.last_used_at.set(at.isoformat()), Record.last_used_ip.set(ip)],
            condition=Record.pk.exists(),
        )
