"""The email table: pynamodb models and the repository the handlers call.

Records are `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map (shared
`DataItem`). Indexes, each for one access pattern; a record sets only the keys it takes part in:
- `by_type`    gsi1: every record of a kind in a tenant, in id order;
- `by_contact` gsi2: `T#<t>#CONTACT#<id>#<KIND>` / `<time>#<id>`: what was sent to a contact;
- `by_parent`  gsi3: `T#<t>#<PARENT>#<id>#<KIND>` / `<id>`: children of a record (a campaign's recipients).
"""

from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from shared.store import DataItem, DataStore


class _Index(GlobalSecondaryIndex[Any]):
    pass


def _index(name: str, number: int) -> type[_Index]:
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    attrs = {
        "Meta": meta,
        f"gsi{number}pk": UnicodeAttribute(hash_key=True),
        f"gsi{number}sk": UnicodeAttribute(range_key=True),
    }
    return type(f"EmailIndex_{name}", (_Index,), attrs)


class Record(DataItem):
    """An email record (template, list type, message, campaign, recipient, suppression ...)."""

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)

    by_type = _index("by_type", 1)()
    by_contact = _index("by_contact", 2)()
    by_parent = _index("by_parent", 3)()


class EmailStore(DataStore[Record]):
    """Reads of the email table; writes go through a UnitOfWork."""

    model = Record
