"""The workflows table: records `T#<tenant>#<KIND>#<id>` / `<KIND>` with their fields in a `data` map.

Indexes, each for one access pattern (a new one needs its template.yaml index too):
- `by_type`    gsi1: every record of a kind in a tenant, in id order (workflows); a run is listed
               under its workflow instead: `T#<t>#WORKFLOW#<id>#RUN` / `<started_at>#<id>`;
- `by_contact` gsi2: a run under its record: `T#<t>#RECORD#<record id>#RUN` / `<started_at>#<id>`
               (a record's runs, whichever workflow);
- `by_due`     shared/due.py: runs waiting for their delay, across tenants, by due time (the sweep);
- `by_update`  the kernel's (shared/store.py): the records of `synced_kinds` and their tombstones by
               the time of their last write, for the lists' `updated_since`.
Runs expire (`expires_at`, the table's TTL) after `runs.RETENTION`.
"""

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from shared.due import ByDue, DueItem
from shared.store import ByUpdate, DataItem, DataStore, gsi

# The tenant's active workflows, in one item (workflows.py writes it, runs.py reads it).
ACTIVE = "active"
ACTIVE_ID = "workflows"


def revision_id(workflow_id: str, revision: int) -> str:
    """The id of a workflow's revision record."""
    return f"{workflow_id}.{revision}"


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
    synced_kinds = frozenset({"workflow"})


class WorkflowsStore(DataStore[Record]):
    """Reads of the workflows table; writes go through a UnitOfWork."""

    model = Record
