"""The access service's caller context and tenant defaults (`register_default`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.access.features import FEATURES
from services.access.store import AccessStore
from shared import service as kernel
from shared.service import Caller as _Caller
from shared.service import Defaults

DEFAULTS = Defaults(FEATURES)  # the defaults the feature modules register, loaded on first read
register_default = DEFAULTS.register


@dataclass
class Caller(_Caller):
    """The caller of one access request, with this service's store and tenant defaults."""

    store: AccessStore = field(default_factory=AccessStore)
    defaults: Defaults = field(default=DEFAULTS)


def service_caller(tenant_id: str, service: str = "access", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)
