"""The email table: pynamodb models and the repository the handlers call.

Records are `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map (shared
`DataItem`). Indexes, each for one access pattern; a record sets only the keys it takes part in:
- `by_type`    gsi1: every record of a kind in a tenant, in id order; messages by time
                (`<created_at>#<id>`): the tenant's mails, newest first (`GET /email/messages`);
- `by_contact` gsi2: `T#<t>#CONTACT#<id>#<KIND>` / `<time>#<id>`: what was sent to a contact;
- `by_parent`  gsi3: `T#<t>#<PARENT>#<id>#<KIND>` / `<id>`: children of a record (a campaign's recipients);
- `by_term`    gsi4: the index entries of templates, list types, campaigns and automations (the
                kernel's `shared/lookup.py`): their lists' filters and sort orders (`TERMS`).
- `by_update`  syncpk/syncsk (the kernel's, shared/store.py): `T#<t>#<KIND>` / `<last write>#<id>`: the
                records of `synced_kinds` and their tombstones, for `updated_since`.
"""

from typing import Any

from pynamodb.attributes import UnicodeAttribute

from shared.lookup import IndexedStore, Terms, flag, plain, text_key, values
from shared.store import ByUpdate, DataItem, gsi


class Record(DataItem):
    """An email record (template, list type, message, campaign, recipient, suppression ...)."""

    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)

    by_type = gsi("by_type", 1)
    by_contact = gsi("by_contact", 2)
    by_parent = gsi("by_parent", 3)
    by_term = gsi("by_term", 4)
    by_update = ByUpdate()

    # The kinds whose lists take `updated_since` (shared.store.DataItem.synced_kinds).
    synced_kinds = frozenset({"template", "campaign", "list_type", "automation"})


def _name(data: Any) -> str:
    return text_key(data.get("name") or "")


def _send_time(data: Any) -> str:
    """A campaign's send time: the time it is scheduled for, else the time it started sending
    (UTC in `clock.iso`'s fixed width, so text order is time order); a draft has none."""
    return str(data.get("send_at") or data.get("started_at") or "")


# The filters and sort orders of each listed kind (their entries carry nothing: a filtered page
# reads its records in one BatchGetItem). A parameter of the list route filters by one of these.
TERMS = {
    "template": Terms(exact={"created_by": (plain, values("created_by"))}, ordered={"name": _name}),
    "list_type": Terms(ordered={"name": _name}),
    "campaign": Terms(
        exact={
            "status": (plain, values("status")),
            "template_id": (plain, values("template_id")),
            "list_type_id": (plain, values("list_type_id")),
            "target_group_id": (plain, values("target_group_id")),
            "created_by": (plain, values("created_by")),
        },
        ordered={"name": _name, "send_time": _send_time},
    ),
    "automation": Terms(
        exact={
            "active": (flag, values("active")),
            "template_id": (plain, values("template_id")),
            "list_type_id": (plain, values("list_type_id")),
            "target_group_id": (plain, values("target_group_id")),
        },
        ordered={"name": _name},
    ),
}


class EmailStore(IndexedStore[Record]):
    """Reads of the email table; writes go through a UnitOfWork (and keep `TERMS`' entries)."""

    model = Record
    terms = TERMS
