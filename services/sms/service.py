"""The sms service's caller context and tenant defaults (`register_default`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.sms.features import FEATURES
from services.sms.store import SmsStore
from shared import service as kernel
from shared.recipients import ACCESS, ContactViewer, access_default
from shared.service import Defaults

DEFAULTS = Defaults(FEATURES)  # the defaults the feature modules register, loaded on first read
register_default = DEFAULTS.register
DEFAULTS.register(ACCESS, access_default)  # the directory's open modules (shared/recipients.py)


@dataclass
class Caller(ContactViewer):
    """The caller of one sms request, with this service's store and tenant defaults; it sees a
    contact by the directory's rule (its owner in the contacts projection, `shared/recipients.py`)."""

    store: SmsStore = field(default_factory=SmsStore)
    defaults: Defaults = field(default=DEFAULTS)


def service_caller(tenant_id: str, service: str = "sms", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)
