"""The audit table: one item per event (the audit record), the erasure marks, the tenant's settings.

Keys (docs/architecture.md, "The audit service"):
- an audit record: `T#<t>#AUDIT#<yyyy-mm-dd>` / `<occurred_at>#<event id>`: a day of the tenant in
  time order (the time-range query reads the days of its range, newest first). The key follows
  from the event alone, so a redelivered event's put-if-absent writes nothing;
- `by_entity` gsi1: `T#<t>#ENTITY#<entity type>#<entity id>` / the same sort key: an entity's trail;
- `by_actor`  gsi2: `T#<t>#ACTOR#<actor id>` / the same sort key: what a user (or key) did;
- `by_contact` gsi3 (sparse): `T#<t>#CONTACT#<contact id>` / the same sort key: the records of a
  contact and those whose payload names one (an activity, a mail), which its erasure masks;
- an erasure mark: `T#<t>#ERASED#<contact id>` / `ERASED`: a record of an erased contact written
  after its erasure is masked as it is written (`trail.py`);
- a setting: the kernel's `T#<t>#SETTING#<name>` / `SETTING` (the retention, `setup.py`).
Records expire (`expires_at`, the table's TTL) after the tenant's retention.
"""

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from shared.store import DataItem, DataStore, TableItem, gsi, tenant_key

AUDIT = "audit"
ERASED = "ERASED"


class Record(DataItem):
    """The kernel's records of this table: the tenant's settings (the kernel lists them in gsi1)."""

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)


class Entry(TableItem):
    """One audit record: the event's who, when, where from and what, as JSON (`domain.trail.AuditRecord`)."""

    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)

    by_entity = gsi("by_entity", 1)
    by_actor = gsi("by_actor", 2)
    by_contact = gsi("by_contact", 3)


class ErasedMark(TableItem):
    """A contact of the tenant was erased: its audit records keep no personal values."""

    expires_at = TTLAttribute(null=True)


def day_key(tenant_id: str, day: str) -> str:
    return tenant_key(tenant_id, AUDIT.upper(), day)


def entity_key(tenant_id: str, entity_type: str, entity_id: str) -> str:
    return tenant_key(tenant_id, "ENTITY", entity_type, entity_id)


def actor_key(tenant_id: str, actor_id: str) -> str:
    return tenant_key(tenant_id, "ACTOR", actor_id)


def contact_key(tenant_id: str, contact_id: str) -> str:
    return tenant_key(tenant_id, "CONTACT", contact_id)


def erased_key(tenant_id: str, contact_id: str) -> str:
    return tenant_key(tenant_id, ERASED, contact_id)


class AuditStore(DataStore[Record]):
    """The settings' reads (the kernel's); audit records are read and written by `trail.py`."""

    model = Record
