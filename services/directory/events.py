"""Events the directory publishes, registered once in the catalogue.

The payloads other services read are contracts in `shared/contracts/`: `directory.py` (accounts,
contacts, erasure, target groups, classes, user groups) and `audience.py`; they are re-exported
here so that the directory names every event it publishes from this one module, but for its target
groups' (`shared/contracts/target_groups.py`, imported by `target_groups.py`, which publishes them:
their condition models are not loaded by the directory's other functions). Registered here is only
what no other service reads.
"""

from pydantic import BaseModel

import shared.contracts.audience  # noqa: F401  (registers audience.requested / audience.page)
from shared.contracts.directory import (
    PRODUCER,
    ClassChanged,
    ContactErased,
    GroupChanged,
    RecordChanged,
    RecordDeleted,
    RecordMerged,
    TenantAccessChanged,
    UserCreated,
)
from shared.events import catalogue

__all__ = [
    "ClassChanged",
    "ContactErased",
    "DuplicateScanChanged",
    "DuplicatesDismissed",
    "GroupChanged",
    "ImportCompleted",
    "RecordChanged",
    "RecordDeleted",
    "RecordMerged",
    "TenantAccessChanged",
    "UserCreated",
]


class ImportCompleted(BaseModel):
    id: str
    kind: str
    created: int
    updated: int
    rejected: int
    skipped: int = 0  # rows left out as duplicates (on_duplicate: skip)


catalogue.register("import.completed", ImportCompleted, producer=PRODUCER, description="A CSV import finished.")


class DuplicateScanChanged(BaseModel):
    """A duplicate scan was requested, completed or failed (services/directory/duplicate_scans.py)."""

    id: str
    entity: str
    records_read: int | None = None
    groups_found: int | None = None
    error: str | None = None


class DuplicatesDismissed(BaseModel):
    """A group of possible duplicates was dismissed: every pair of `records` is "not duplicates"."""

    id: str  # the group
    entity: str
    records: list[str]
    pairs: int


for _type, _description in (
    ("duplicate_scan.requested", "An admin asked for a scan of the tenant's contacts or accounts for duplicates."),
    ("duplicate_scan.completed", "A duplicate scan finished: records read, groups found."),
    ("duplicate_scan.failed", "A duplicate scan failed (`error` says why)."),
):
    catalogue.register(_type, DuplicateScanChanged, producer=PRODUCER, description=_description)
catalogue.register(
    "duplicate_group.dismissed",
    DuplicatesDismissed,
    producer=PRODUCER,
    description="A user dismissed a group of possible duplicates: its records' pairs are not offered again.",
)
