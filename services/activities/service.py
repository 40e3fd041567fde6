"""The activities service's caller context, tenant setup and access rules.

Access [002 Käyttöoikeudet, with its exception for activities]: activities are shared calendar
entries, so everyone in the tenant sees them; the responsible user, the creator, managers and
admins change and delete them. Feature modules add their own rules (contact orders have their
permission set).

A tenant seen for the first time gets its default lists installed (activity types, the CRM
classification of seed 001, and whatever feature modules register with `register_default`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.activities.features import FEATURES
from services.activities.store import ActivitiesStore
from shared import service as kernel
from shared.service import Caller as _Caller
from shared.service import Defaults

DEFAULTS = Defaults(FEATURES)  # the defaults the feature modules register, all loaded on first read
register_default = DEFAULTS.register


@dataclass
class Caller(_Caller):
    """The caller of one activities request, with this service's store and tenant defaults."""

    store: ActivitiesStore = field(default_factory=ActivitiesStore)
    defaults: Defaults = field(default=DEFAULTS)


def service_caller(tenant_id: str, service: str = "activities", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)
