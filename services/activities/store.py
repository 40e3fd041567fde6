"""The activities table: pynamodb models and the repository the handlers call.

One item per record, keyed `T#<tenant>#<KIND>#<id>` / `<KIND>`, its fields in a `data` map, as in
the directory. The indexes each serve one access pattern, and a record sets only the index keys
it takes part in (sparse indexes):

- `by_type`      gsi1: every record of a kind in a tenant, in id order;
- `by_calendar`  gsi2: `T#<t>#CAL#<user>` / `<start>#<id>`: events and bookings in a user's calendar;
- `by_account`   gsi3: `T#<t>#ACCOUNT#<id>#<KIND>` / `<time>#<id>`: what is linked to an account;
- `by_contact`   gsi4: `T#<t>#CONTACT#<id>#<KIND>` / `<time>#<id>`: what is linked to a contact;
- `by_todo`      gsi5: `T#<t>#TODO#<user>` / `<due>#<id>`: a user's open tasks, bookings, assigned orders;
- `by_rank`      gsi6 and `by_rank_alt` gsi7: lists in a chosen order (the call list by latest
  event time / type, contact orders by planned date / number, activities by owner / by type as
  `T#<t>#OWNER|TYPE#<owner or type>#ACTIVITY` / `<time>#<id>`); each feature documents its keys;
- `by_time`      gsi8: `T#<t>#ACTIVITY_TIME` / `<time>#<id>`: every activity of a tenant by its time;
- `by_update`    syncpk/syncsk (the kernel's, shared/store.py): `T#<t>#<KIND>` / `<last write>#<id>`:
  the records of `synced_kinds` and their tombstones, for `updated_since`;
- `by_due`       duepk/duesk: across tenants, `DUE#<shard>` / `<due>#<tenant>#<id>`: reminders
  to fire; an item leaves the index when its reminder is sent.
"""

from typing import Any

from pynamodb.attributes import UnicodeAttribute

from shared.due import ByDue, DueItem
from shared.lookup import IndexedStore, Terms, flag, plain, text_key, values
from shared.store import ByUpdate, DataItem, clean, gsi, record_key, tenant_key


class Record(DueItem, DataItem):
    """An activities record (activity, setting list, call-list row, contact order ...)."""

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
    gsi6pk = UnicodeAttribute(null=True)
    gsi6sk = UnicodeAttribute(null=True)
    gsi7pk = UnicodeAttribute(null=True)
    gsi7sk = UnicodeAttribute(null=True)
    gsi8pk = UnicodeAttribute(null=True)
    gsi8sk = UnicodeAttribute(null=True)

    by_type = gsi("by_type", 1)
    by_calendar = gsi("by_calendar", 2)
    by_account = gsi("by_account", 3)
    by_contact = gsi("by_contact", 4)
    # The kernel's index entries (shared/lookup.py: mass activities' filters) share gsi4: their
    # partitions `T#<t>#MASS_ACTIVITY#...` never meet a contact's `T#<t>#CONTACT#<id>#<KIND>`.
    by_term = by_contact
    by_todo = gsi("by_todo", 5)
    by_rank = gsi("by_rank", 6)
    by_rank_alt = gsi("by_rank_alt", 7)
    by_time = gsi("by_time", 8)
    by_due = ByDue()
    by_update = ByUpdate()

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset({"activity", "mass_activity", "marketing", "facility", "contact_order"})


def new_record(tenant_id: str, kind: str, record_id: str, data: dict[str, Any]) -> Record:
    """A record listed in `by_type`; callers set the other index keys it takes part in."""
    return Record(
        pk=record_key(tenant_id, kind, record_id),
        sk=kind.upper(),
        kind=kind,
        gsi1pk=tenant_key(tenant_id, kind.upper()),
        gsi1sk=record_id,
        fields=clean(data),
    )


def _name(data: Any) -> str:
    return text_key(data.get("name") or "")


# The filters and sort orders of each listed kind (entries without a copy: shared/lookup.py).
TERMS = {
    "mass_activity": Terms(
        exact={
            "active": (flag, values("active")),
            "target_group_id": (plain, values("target_group_id")),
            "created_by": (plain, values("created_by")),
        },
        ordered={"name": _name},
    ),
}


class ActivitiesStore(IndexedStore[Record]):
    """Reads of the activities table; writes go through a UnitOfWork (and keep `TERMS`' entries)."""

    model = Record
    terms = TERMS
