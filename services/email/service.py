"""The email service's caller context and tenant defaults.

Templates, list types and campaigns are shared by the tenant's users; admins and managers
manage list types and sending settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.email.features import FEATURES
from services.email.store import EmailStore
from shared import service as kernel
from shared.service import Caller as _Caller
from shared.service import Defaults

DEFAULTS = Defaults(FEATURES)  # the defaults the feature modules register, all loaded on first read
register_default = DEFAULTS.register


@dataclass
class Caller(_Caller):
    """The caller of one email request, with this service's store and tenant defaults."""

    store: EmailStore = field(default_factory=EmailStore)
    defaults: Defaults = field(default=DEFAULTS)


def service_caller(tenant_id: str, service: str = "email", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)
