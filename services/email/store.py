"""The email table: pynamodb models and the repository the handlers call.

Records are `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map (shared
`DataItem`). Indexes, each for one access pattern; a record sets only the keys it takes part in:
- `by_type`    gsi1: every record of a kind in a tenant, in id order; messages by time
                (`<created_at>#<id>`): the tenant's mails, newest first (`GET /email/messages`);
- `by_contact` gsi2: `T#<t>#CONTACT#<id>#<KIND>` / `<time>#<id>`: what was sent to a contact;
- `by_parent`  gsi3: `T#<t>#<PARENT>#<id>#<KIND>` / `<id>`: children of a record (a campaign's recipients);
- `by_update`  syncpk/syncsk (the kernel's, shared/store.py): `T#<t>#<KIND>` / `<last write>#<id>`: the
                records of `synced_kinds` and their tombstones, for `updated_since`.
"""

from pynamodb.attributes import UnicodeAttribute

from shared.store import ByUpdate, DataItem, DataStore, gsi


class Record(DataItem):
    """An email record (template, list type, message, campaign, recipient, suppression ...)."""

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

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset({"template", "campaign", "list_type", "automation"})


class EmailStore(DataStore[Record]):
    """Reads of the email table; writes go through a UnitOfWork."""

    model = Record
