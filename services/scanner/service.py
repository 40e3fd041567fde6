"""The scanner service's caller context and tenant defaults (`register_default`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.scanner.features import FEATURES
from services.scanner.store import ScannerStore
from shared import permissions
from shared import service as kernel
from shared.permissions import Action, Subject
from shared.recipients import ACCESS, access_default
from shared.service import Caller as _Caller
from shared.service import Defaults
from shared.types import Owner

DEFAULTS = Defaults(FEATURES)  # the defaults the feature modules register, loaded on first read
register_default = DEFAULTS.register
DEFAULTS.register(ACCESS, access_default)  # the directory's open modules, kept by the contacts projection

TICKETS = "tickets"  # the resource tickets are to the permission check


@dataclass
class Caller(_Caller):
    """The caller of one scanner request, with this service's store and tenant defaults."""

    store: ScannerStore = field(default_factory=ScannerStore)
    defaults: Defaults = field(default=DEFAULTS)

    @property
    def subject(self) -> Subject:
        return Subject.of(self.auth)

    def allows(self, action: Action, owner: Owner | None = None) -> bool:
        """The kernel's one permission check on a ticket (the directory's entity ownership rules)."""
        return permissions.allows(self.subject, action, TICKETS, owner)

    def may_give_to(self, owner: Owner) -> bool:
        return permissions.may_give_to(self.subject, owner)

    def visible_owners(self) -> set[str] | None:
        return permissions.visible_owners(self.subject, TICKETS)


def service_caller(tenant_id: str, service: str = "scanner", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)
