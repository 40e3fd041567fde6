"""How long each tenant's audit records are kept: what the consumer reads for a batch's tenants.

Apart from the settings routes (setup.py), so that the trail's writer imports no route logic.
"""

from __future__ import annotations

from services.audit.domain.trail import AuditSetup
from services.audit.store import Record
from shared.service import SETTING as SETTING_KIND
from shared.store import record_key

SETTING = "audit"  # the tenant setting holding its AuditSetup


def retention_days(tenants: set[str]) -> dict[str, int]:
    """Each tenant's retention, read in one BatchGetItem (an absent setting is the default: the
    consumer installs no tenant's defaults)."""
    found = {tenant: AuditSetup().retention_days for tenant in tenants}
    keys = [(record_key(tenant, SETTING_KIND, SETTING), SETTING_KIND.upper()) for tenant in sorted(tenants)]
    for record in Record.batch_get(keys) if keys else ():
        found[record.pk.split("#", 2)[1]] = AuditSetup.model_validate(record.data).retention_days
    return found
