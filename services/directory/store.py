"""The directory table: pynamodb models and the repository the handlers call.

One item per record, keyed `T#<tenant>#<KIND>#<id>` / `<KIND>`, its fields in a `data` map.
Five indexes serve every list without a Scan: `by_type` (all records of a kind in a tenant),
`by_owner` (the records one user or group owns), `by_parent` (the contacts of an account,
the members of a group), `by_term` (index entries: list filters, names, search terms) and the
kernel's `by_update` (records and tombstones by the time of their last write: `updated_since`).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import UnicodeAttribute

from shared.lookup import Entry
from shared.store import ByUpdate, DataItem, DataStore, clean, gsi, record_key, tenant_key

__all__ = ["Entry"]


class Record(DataItem):
    """A directory record (account, contact, user, group, class, target group, import ...)."""

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)

    by_type = gsi("by_type", 1)
    by_owner = gsi("by_owner", 2)
    by_parent = gsi("by_parent", 3)
    by_term = gsi("by_term", 4)
    by_update = ByUpdate()

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset({"account", "contact", "user", "group", "class", "classification_type", "target_group"})


@dataclass(frozen=True)
class Placement:
    """Where a record shows up besides its own key: its owner and its parent."""

    owner_id: str | None = None
    parent: tuple[str, str] | None = None  # (parent kind, parent id)


def new_record(tenant_id: str, kind: str, record_id: str, data: dict[str, Any], place: Placement) -> Record:
    item = Record(
        pk=record_key(tenant_id, kind, record_id),
        sk=kind.upper(),
        kind=kind,
        gsi1pk=tenant_key(tenant_id, kind.upper()),
        gsi1sk=record_id,
        fields=clean(data),
    )
    place_record(item, tenant_id, kind, record_id, place)
    return item


def place_record(item: Record, tenant_id: str, kind: str, record_id: str, place: Placement) -> None:
    item.gsi2pk = tenant_key(tenant_id, "OWNER", place.owner_id, kind.upper()) if place.owner_id else None
    item.gsi2sk = record_id if place.owner_id else None
    if place.parent:
        parent_kind, parent_id = place.parent
        item.gsi3pk = tenant_key(tenant_id, parent_kind.upper(), parent_id, kind.upper())
        item.gsi3sk = record_id
    else:
        item.gsi3pk = item.gsi3sk = None


class DirectoryStore(DataStore[Record]):
    """Reads of the directory table; writes go through a UnitOfWork."""

    model = Record

    def page_by_parent(
        self, tenant_id: str, parent_kind: str, parent_id: str, kind: str, after: str | None, limit: int
    ) -> list[Record]:
        hash_key = tenant_key(tenant_id, parent_kind.upper(), parent_id, kind.upper())
        condition = Record.gsi3sk > after if after else None
        return list(Record.by_parent.query(hash_key, range_key_condition=condition, limit=limit))

    def contact_memberships(self, tenant_id: str, contact_id: str) -> Iterator[Record]:
        """The target groups a contact was added to by hand."""
        yield from Record.by_type.query(tenant_key(tenant_id, "CONTACT", contact_id, "TG_MEMBER"))

    def children(self, tenant_id: str, parent_kind: str, parent_id: str, kind: str) -> Iterator[Record]:
        yield from Record.by_parent.query(tenant_key(tenant_id, parent_kind.upper(), parent_id, kind.upper()))
