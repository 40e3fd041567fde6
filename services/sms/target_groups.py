"""The tenant's target groups (the kernel's projection, `shared/target_groups.py`) over the sms
table: one `target_group` record per group, fed by `target_group.*`. A send checks its
`target_group_id` here before writing anything (`GROUPS.require(caller, id)`: 422 naming the
field for a deleted group or one this tenant does not have, after a short grace for a group
created a moment ago).
"""

from __future__ import annotations

from services.sms.store import Record, SmsStore
from shared.target_groups import TargetGroups

from .subscriptions import subscribe

GROUPS: TargetGroups[Record] = TargetGroups(SmsStore())
for event_type, handle in GROUPS.handlers().items():
    handle.__module__ = __name__  # registered by this feature module (features.py lists it for these types)
    subscribe(event_type)(handle)
